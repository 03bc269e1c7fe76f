//! Two instances sharing a database and Redis: a logout on one is seen by the other, and
//! login throttling counts across both.

use serde_json::json;

use crate::helpers::service_url;

#[tokio::test]
async fn a_logout_on_one_instance_revokes_the_token_on_another() {
    let Some(redis_url) = service_url("TEST_REDIS_URL") else {
        return;
    };
    let (a, b, _shared) = crate::helpers::two_instances(&redis_url).await;

    let nina = a.register("nina").await;
    let me = "{ me { username } }";
    assert_eq!(
        b.gql_as(Some(&nina.access), me, json!({})).await.data()["me"]["username"],
        "nina"
    );
    a.gql_as(Some(&nina.access), "mutation { logout }", json!({}))
        .await
        .data();
    assert_eq!(
        b.gql_as(Some(&nina.access), me, json!({})).await.status,
        401
    );

    let login = "mutation { login(input: {usernameOrEmail: \"nina\", password: \"wrong password\"}) { accessToken } }";
    for i in 0..5 {
        let app = if i % 2 == 0 { &a } else { &b };
        assert_eq!(app.gql(login, json!({})).await.code(), "UNAUTHENTICATED");
    }
    assert_eq!(b.gql(login, json!({})).await.code(), "RATE_LIMITED");
}
