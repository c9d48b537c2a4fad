//! Builds the browser client (`web/` → `web/dist/`) so that `cargo run -p arena-server` serves a
//! playable game with no separate step. Needs Node.js 20+ and npm (packages come from the npm registry
//! on the first build). Set `ARENA_SKIP_WEB_BUILD=1` to skip, e.g. when serving a client built elsewhere.

use std::path::Path;
use std::process::Command;

fn main() {
    let web = Path::new(env!("CARGO_MANIFEST_DIR")).join("../web");
    for input in ["src", "index.html", "style.css", "package.json", "package-lock.json", "build.mjs"] {
        println!("cargo:rerun-if-changed={}", web.join(input).display());
    }
    println!("cargo:rerun-if-env-changed=ARENA_SKIP_WEB_BUILD");
    if std::env::var_os("ARENA_SKIP_WEB_BUILD").is_some() {
        return;
    }
    if Command::new("npm").arg("--version").output().is_err() {
        println!(
            "cargo:warning=npm was not found, so the web client (web/dist) was not built: install Node.js 20+"
        );
        return;
    }
    let installed = web.join("node_modules/.package-lock.json");
    let stale = match (modified(&installed), modified(&web.join("package-lock.json"))) {
        (Some(installed), Some(lock)) => installed < lock,
        _ => true,
    };
    if stale {
        npm(&web, &["ci", "--no-audit", "--no-fund"]);
    }
    npm(&web, &["run", "build"]);
}

fn modified(path: &Path) -> Option<std::time::SystemTime> {
    path.metadata().and_then(|m| m.modified()).ok()
}

fn npm(dir: &Path, args: &[&str]) {
    let output = Command::new("npm").args(args).current_dir(dir).output();
    match output {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!(
            "`npm {}` in {} failed ({}):\n{}\n{}",
            args.join(" "),
            dir.display(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(err) => panic!("could not run npm: {err}"),
    }
}
