use std::io::{BufRead, IsTerminal};

use anyhow::Context;

use crate::app::auth::RegisterInput;
use crate::cli::UserAction;
use crate::config::Config;
use crate::startup::build_auth;

/// The password comes from REELGRAPH_USER_PASSWORD or the first line of stdin, never argv
/// (argv is visible to every user of the machine).
fn read_password() -> anyhow::Result<String> {
    if let Ok(password) = std::env::var("REELGRAPH_USER_PASSWORD") {
        return Ok(password);
    }
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("password: ");
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from stdin")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

pub async fn run(config: Config, action: UserAction) -> anyhow::Result<()> {
    match action {
        UserAction::Create {
            username,
            email,
            role,
        } => {
            let password = read_password()?;
            let auth = build_auth(&config).await?;
            let user = auth
                .create_user(
                    RegisterInput {
                        username,
                        email,
                        password,
                        display_name: None,
                    },
                    role,
                )
                .await
                .map_err(|e| anyhow::anyhow!("cannot create user: {e}"))?;
            println!(
                "created user {} ({}) with role {}",
                user.username, user.id, user.role
            );
            Ok(())
        }
    }
}
