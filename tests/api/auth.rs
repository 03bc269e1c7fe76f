use serde_json::json;

use crate::helpers::spawn_app;

const ME: &str = "{ me { id username email role } }";
const REFRESH: &str = "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken user { username } } }";

#[tokio::test]
async fn register_then_me_shows_the_new_creator_with_email() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;

    let me = app.gql_as(Some(&alice.access), ME, json!({})).await;
    assert_eq!(me.data()["me"]["username"], "alice");
    assert_eq!(me.data()["me"]["email"], "alice@example.com");
    assert_eq!(me.data()["me"]["role"], "CREATOR");

    let anonymous = app.gql(ME, json!({})).await;
    assert!(anonymous.data()["me"].is_null());
}

#[tokio::test]
async fn usernames_and_emails_are_unique_case_insensitively_after_nfkc() {
    let app = spawn_app().await;
    app.register("kenji").await;
    let q = "mutation($u: String!, $e: String!) { register(input: {username: $u, email: $e, password: \"long enough pw\"}) { accessToken } }";
    let same_name = app
        .gql(q, json!({ "u": "ＫＥＮＪＩ", "e": "other@example.com" }))
        .await;
    assert_eq!(same_name.code(), "CONFLICT");
    assert!(same_name.body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("username"));
    let same_email = app
        .gql(q, json!({ "u": "kenji2", "e": "KENJI@Example.com" }))
        .await;
    assert_eq!(same_email.code(), "CONFLICT");
    assert_eq!(app.count_rows("users").await, 1);
}

#[tokio::test]
async fn login_accepts_username_or_email_and_never_says_which_part_was_wrong() {
    let app = spawn_app().await;
    app.register("bob").await;
    let q = "mutation($l: String!, $p: String!) { login(input: {usernameOrEmail: $l, password: $p}) { accessToken user { username } } }";

    let by_email = app
        .gql(
            q,
            json!({ "l": "BOB@example.com", "p": "correct horse battery" }),
        )
        .await;
    assert_eq!(by_email.data()["login"]["user"]["username"], "bob");

    let wrong_password = app
        .gql(q, json!({ "l": "bob", "p": "wrong password!" }))
        .await;
    let unknown_user = app
        .gql(q, json!({ "l": "nobody", "p": "wrong password!" }))
        .await;
    assert_eq!(wrong_password.code(), "UNAUTHENTICATED");
    assert_eq!(unknown_user.code(), "UNAUTHENTICATED");
    assert_eq!(
        wrong_password.body["errors"][0]["message"],
        unknown_user.body["errors"][0]["message"]
    );
}

#[tokio::test]
async fn repeated_failed_logins_are_throttled_per_account() {
    let app = spawn_app().await;
    app.register("carol").await;
    let q = "mutation($p: String!) { login(input: {usernameOrEmail: \"carol\", password: $p}) { accessToken } }";
    for _ in 0..5 {
        assert_eq!(
            app.gql(q, json!({ "p": "not the password" })).await.code(),
            "UNAUTHENTICATED"
        );
    }
    let throttled = app.gql(q, json!({ "p": "correct horse battery" })).await;
    assert_eq!(throttled.code(), "RATE_LIMITED");
    assert!(
        throttled.body["errors"][0]["extensions"]["retryAfterSeconds"]
            .as_u64()
            .unwrap()
            > 0
    );
}

#[tokio::test]
async fn refresh_rotates_the_token_and_reuse_revokes_the_whole_family() {
    let app = spawn_app().await;
    let dave = app.register("dave").await;

    // Clients often keep sending their last (maybe expired) access token: refreshing
    // must still work with any token in the header.
    let first = app
        .gql_as(
            Some("stale.or.garbage"),
            REFRESH,
            json!({ "t": dave.refresh }),
        )
        .await;
    let rotated = first.data()["refreshToken"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(rotated, dave.refresh);
    let new_access = first.data()["refreshToken"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.gql_as(Some(&new_access), ME, json!({})).await.data()["me"]["username"],
        "dave"
    );

    // The old token again: reuse. The family dies, including the rotated token and the
    // access tokens of the session.
    let reuse = app.gql(REFRESH, json!({ "t": dave.refresh })).await;
    assert_eq!(reuse.code(), "UNAUTHENTICATED");
    assert_eq!(
        app.gql(REFRESH, json!({ "t": rotated })).await.code(),
        "UNAUTHENTICATED"
    );
    let revoked = app.gql_as(Some(&new_access), ME, json!({})).await;
    assert_eq!(revoked.status, 401);
    assert_eq!(revoked.code(), "UNAUTHENTICATED");
}

#[tokio::test]
async fn concurrent_refreshes_of_one_token_yield_at_most_one_winner() {
    let app = spawn_app().await;
    let erin = app.register("erin").await;
    let attempts = (0..4).map(|_| app.gql(REFRESH, json!({ "t": erin.refresh })));
    let results = futures_util::future::join_all(attempts).await;
    let winners = results
        .iter()
        .filter(|r| r.body["data"]["refreshToken"].is_object())
        .count();
    assert_eq!(winners, 1, "exactly one refresh wins");
    for loser in results
        .iter()
        .filter(|r| !r.body["data"]["refreshToken"].is_object())
    {
        assert_eq!(loser.code(), "UNAUTHENTICATED", "{}", loser.body);
    }
}

#[tokio::test]
async fn logout_revokes_the_access_token_and_the_session() {
    let app = spawn_app().await;
    let frank = app.register("frank").await;
    let out = app
        .gql_as(Some(&frank.access), "mutation { logout }", json!({}))
        .await;
    assert_eq!(out.data()["logout"], true);

    assert_eq!(
        app.gql_as(Some(&frank.access), ME, json!({})).await.status,
        401
    );
    assert_eq!(
        app.gql(REFRESH, json!({ "t": frank.refresh })).await.code(),
        "UNAUTHENTICATED"
    );
}

#[tokio::test]
async fn logout_all_ends_every_session_and_change_password_ends_the_others() {
    let app = spawn_app().await;
    let gina = app.register("gina").await;
    let second = app.promote(&gina, "CREATOR").await; // a second login = a second session

    let change = app
        .gql_as(
            Some(&second.access),
            "mutation { changePassword(currentPassword: \"correct horse battery\", newPassword: \"new horse battery\") }",
            json!({}),
        )
        .await;
    assert_eq!(change.data()["changePassword"], true);
    assert_eq!(
        app.gql_as(Some(&gina.access), ME, json!({})).await.status,
        401,
        "other session ends"
    );
    assert_eq!(
        app.gql_as(Some(&second.access), ME, json!({})).await.data()["me"]["username"],
        "gina"
    );

    let wrong = app
        .gql_as(Some(&second.access), "mutation { changePassword(currentPassword: \"nope nope nope\", newPassword: \"another battery\") }", json!({}))
        .await;
    assert_eq!(wrong.code(), "BAD_USER_INPUT");
    assert_eq!(
        wrong.body["errors"][0]["extensions"]["field"],
        "currentPassword"
    );

    assert_eq!(
        app.gql_as(Some(&second.access), "mutation { logoutAll }", json!({}))
            .await
            .data()["logoutAll"],
        true
    );
    assert_eq!(
        app.gql_as(Some(&second.access), ME, json!({})).await.status,
        401
    );
    assert_eq!(
        app.gql(REFRESH, json!({ "t": second.refresh }))
            .await
            .code(),
        "UNAUTHENTICATED"
    );
}

#[tokio::test]
async fn update_profile_sets_and_clears_fields() {
    let app = spawn_app().await;
    let hana = app.register("hana").await;
    let q = "mutation($i: UpdateProfileInput!) { updateProfile(input: $i) { displayName bio avatarUrl } }";
    let set = app.gql_as(Some(&hana.access), q, json!({ "i": { "displayName": "花", "bio": "line one\nline two", "avatarUrl": "https://cdn.example.com/a.png" } })).await;
    assert_eq!(set.data()["updateProfile"]["displayName"], "花");
    assert_eq!(set.data()["updateProfile"]["bio"], "line one\nline two");

    let cleared = app
        .gql_as(Some(&hana.access), q, json!({ "i": { "bio": null } }))
        .await;
    assert!(cleared.data()["updateProfile"]["bio"].is_null());
    assert_eq!(
        cleared.data()["updateProfile"]["displayName"],
        "花",
        "left-out fields stay"
    );

    let bad = app
        .gql_as(
            Some(&hana.access),
            q,
            json!({ "i": { "avatarUrl": "javascript:alert(1)" } }),
        )
        .await;
    assert_eq!(bad.code(), "BAD_USER_INPUT");
    assert_eq!(
        bad.body["errors"][0]["extensions"]["field"],
        "input.avatarUrl"
    );
}

#[tokio::test]
async fn set_user_role_follows_the_role_ladder_and_email_is_private() {
    let app = spawn_app().await;
    let ivan = app.register("ivan").await;
    let judy = app.register("judy").await;
    let q = "mutation($u: ID!, $r: Role!) { setUserRole(userId: $u, role: $r) { role } }";

    assert_eq!(
        app.gql_as(
            Some(&ivan.access),
            q,
            json!({ "u": judy.id, "r": "PREMIUM" })
        )
        .await
        .code(),
        "FORBIDDEN"
    );

    let admin = app.promote(&ivan, "ADMIN").await;
    let premium = app
        .gql_as(
            Some(&admin.access),
            q,
            json!({ "u": judy.id, "r": "PREMIUM" }),
        )
        .await;
    assert_eq!(premium.data()["setUserRole"]["role"], "PREMIUM");
    assert_eq!(
        app.gql_as(
            Some(&admin.access),
            q,
            json!({ "u": judy.id, "r": "ADMIN" })
        )
        .await
        .code(),
        "FORBIDDEN"
    );
    assert_eq!(
        app.gql_as(
            Some(&admin.access),
            q,
            json!({ "u": admin.id, "r": "USER" })
        )
        .await
        .code(),
        "FORBIDDEN"
    );

    let super_admin = app.promote(&ivan, "SUPER_ADMIN").await;
    let granted = app
        .gql_as(
            Some(&super_admin.access),
            q,
            json!({ "u": judy.id, "r": "ADMIN" }),
        )
        .await;
    assert_eq!(granted.data()["setUserRole"]["role"], "ADMIN");
    // The role lives in the access token, so a change ends the user's sessions.
    assert_eq!(
        app.gql_as(Some(&judy.access), ME, json!({})).await.status,
        401
    );
    let judy = app.promote(&judy, "ADMIN").await;

    let by_name = "query($n: String!) { user(username: $n) { username email role } }";
    let seen_by_other = app
        .gql_as(Some(&judy.access), by_name, json!({ "n": "ivan" }))
        .await;
    assert_eq!(seen_by_other.data()["user"]["username"], "ivan");
    assert_eq!(
        seen_by_other.data()["user"]["email"],
        "ivan@example.com",
        "admins see emails"
    );
    let anonymous = app.gql(by_name, json!({ "n": "judy" })).await;
    assert!(anonymous.data()["user"]["email"].is_null());
}
