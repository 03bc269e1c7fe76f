//! The least a server can do for `video(id)`: read the row with sea-orm, return it as JSON.
//! `bench/run.sh` measures reelgraph against it. Not part of the server.
//!
//! Env: `DATABASE_URL` (the same database reelgraph serves), `LISTEN` (default 127.0.0.1:18091).

use poem::http::StatusCode;
use poem::listener::TcpListener;
use poem::web::{Data, Json, Path};
use poem::{get, handler, EndpointExt, Route, Server};
use sea_orm::{ConnectOptions, DatabaseConnection, FromQueryResult, JsonValue, Statement};

#[handler]
async fn video(
    Path(id): Path<String>,
    Data(db): Data<&DatabaseConnection>,
) -> poem::Result<Json<JsonValue>> {
    let id = uuid::Uuid::parse_str(&id)
        .map_err(|_| poem::Error::from_status(StatusCode::BAD_REQUEST))?;
    let backend = db.get_database_backend();
    let sql = match backend {
        sea_orm::DbBackend::Postgres => "SELECT id, owner_id, title, description, tags, categories, status, visibility, published_at, view_count, like_count, created_at, updated_at FROM videos WHERE id = $1 AND deleted_at IS NULL",
        _ => "SELECT id, owner_id, title, description, tags, categories, status, visibility, published_at, view_count, like_count, created_at, updated_at FROM videos WHERE id = ? AND deleted_at IS NULL",
    };
    let row =
        JsonValue::find_by_statement(Statement::from_sql_and_values(backend, sql, [id.into()]))
            .one(db)
            .await
            .map_err(poem::error::InternalServerError)?;
    row.map(Json)
        .ok_or_else(|| poem::Error::from_status(StatusCode::NOT_FOUND))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("DATABASE_URL")?;
    let listen = std::env::var("LISTEN").unwrap_or_else(|_| "127.0.0.1:18091".into());
    let mut opts = ConnectOptions::new(url);
    opts.max_connections(16).sqlx_logging(false);
    let db = sea_orm::Database::connect(opts).await?;
    let app = Route::new().at("/video/:id", get(video)).data(db);
    Server::new(TcpListener::bind(listen)).run(app).await?;
    Ok(())
}
