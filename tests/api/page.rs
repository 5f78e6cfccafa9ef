//! The admin page's shell and assets: public, without data, under a strict policy.

use crate::helpers::spawn_app;

#[tokio::test]
async fn the_page_shell_and_its_assets_are_public_and_carry_no_data() {
    let app = spawn_app().await;
    let shell = app
        .client
        .get(format!("{}/", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(shell.status(), 200);
    let csp = shell.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("default-src 'self'"), "{csp}");
    assert!(csp.contains("script-src 'self';"), "{csp}");
    assert_eq!(shell.headers()["referrer-policy"], "no-referrer");
    let html = shell.text().await.unwrap();
    assert!(html.contains(r#"<script type="module" src="/assets/app.js"></script>"#));
    // No workflow, hook id or inline script in the shell.
    assert!(
        !html.contains("/hooks/") && !html.contains("optimantra"),
        "{html}"
    );
    assert!(!html.contains("<script>"), "{html}");

    let js = app
        .client
        .get(format!("{}/assets/views/request.js", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(js.status(), 200);
    assert!(js.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    let etag = js.headers()["etag"].clone();
    let again = app
        .client
        .get(format!("{}/assets/views/request.js", app.base))
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);

    let missing = app
        .client
        .get(format!("{}/assets/nope.js", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}
