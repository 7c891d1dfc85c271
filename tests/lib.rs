//! Workspace-level integration tests; the tests live in the `[[test]]` targets beside this file.
