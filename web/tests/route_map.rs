//! `docs/DASHBOARD.md` maps every API route to its dashboard page (or says why there is
//! none): this test fails when a route is added to the API without a row there.

#![allow(clippy::unwrap_used, missing_docs)]

#[test]
fn every_api_route_has_a_row_in_the_dashboard_doc() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/DASHBOARD.md"))
        .unwrap();
    let table = doc
        .split("## API routes and their pages")
        .nth(1)
        .expect("docs/DASHBOARD.md has the section \"API routes and their pages\"");
    let missing: Vec<String> = apex_api::route_paths()
        .into_iter()
        .filter(|path| !table.contains(&format!("`{path}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "API routes without a row in docs/DASHBOARD.md's \"API routes and their pages\":\n{}",
        missing.join("\n")
    );
}
