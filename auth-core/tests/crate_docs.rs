//! The crate docs' `compile_fail` example must fail for the one reason it shows: an unknown
//! scope. rustdoc cannot check a custom compile error's text, so the failing example is kept the
//! twin of the opening example (which compiles and runs as a doctest): the same code, with
//! `scopes = ["items"]` changed to `scopes = ["itemz"]` and nothing else. This test holds them
//! to that.

/// The code of each ```` ``` ```` block of the crate docs, with its fence's info string, hidden
/// lines shown (`# ` removed) as the compiler sees them.
fn doc_blocks() -> Vec<(String, String)> {
    let source = include_str!("../src/lib.rs");
    let mut blocks = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in source.lines().map_while(|line| line.strip_prefix("//!")) {
        let line = line.strip_prefix(' ').unwrap_or(line);
        match (&mut current, line.strip_prefix("```")) {
            (None, Some(info)) => current = Some((info.to_owned(), String::new())),
            (Some(_), Some(_)) => blocks.push(current.take().unwrap()),
            (Some((_, code)), None) => {
                let shown = if line == "#" { "" } else { line.strip_prefix("# ").unwrap_or(line) };
                code.push_str(shown);
                code.push('\n');
            }
            (None, None) => {}
        }
    }
    blocks
}

#[test]
fn the_compile_fail_example_is_the_first_example_with_one_unknown_scope() {
    let blocks = doc_blocks();
    let first = &blocks.first().expect("the crate docs open with an example").1;
    let failing: Vec<&String> =
        blocks.iter().filter(|(info, _)| info.split(',').any(|t| t == "compile_fail")).map(|(_, c)| c).collect();
    assert_eq!(failing.len(), 1, "one compile_fail example");
    assert_eq!(first.matches(r#"scopes = ["items"]"#).count(), 1, "the first example requires `items` once");
    assert_eq!(
        *failing[0],
        first.replace(r#"scopes = ["items"]"#, r#"scopes = ["itemz"]"#),
        "the compile_fail example must be the first one with `items` misspelt, and nothing else changed"
    );
}

#[test]
fn the_first_example_reads_a_credential_and_requires_a_scope() {
    let blocks = doc_blocks();
    let (info, first) = blocks.first().unwrap();
    assert!(info.is_empty(), "the first example runs as a doctest (no `ignore`, `no_run`): {info:?}");
    assert!(first.contains("#[secured(scopes = [\"items\"])]"), "{first}");
    assert!(first.contains("Authenticated<Claims>"), "{first}");
}
