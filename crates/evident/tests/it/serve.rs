//! `evident serve` and `evident users`, through the real binary.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};

use crate::support::Evident;

/// A running `evident serve`, its address and what it printed before serving.
struct Served {
    child: Child,
    address: String,
    printed: Vec<String>,
    rest: BufReader<std::process::ChildStdout>,
}

// The child is handed back in `Served` and waited for by `stop`.
#[allow(clippy::zombie_processes)]
fn serve(evident: &Evident, args: &[&str]) -> Served {
    let mut command = evident.command_for_test(&[&["serve", "--bind", "127.0.0.1:0"], args].concat());
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut printed = Vec::new();
    loop {
        let mut line = String::new();
        if stdout.read_line(&mut line).unwrap() == 0 {
            let status = child.wait().unwrap();
            panic!("serve ended ({status}) before serving: {printed:?}");
        }
        if let Some(rest) = line.split("serving on http://").nth(1) {
            let address = rest.split_whitespace().next().unwrap().to_owned();
            return Served { child, address, printed, rest: stdout };
        }
        printed.push(line);
    }
}

/// One HTTP/1.1 request over a plain socket: the status and the body.
fn http(address: &str, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
    let mut stream = TcpStream::connect(address).unwrap();
    let body = body.unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, answer.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default())
}

fn stop(mut served: Served) -> String {
    let killed = std::process::Command::new("kill").args(["-TERM", &served.child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let status = served.child.wait().unwrap();
    let mut rest = String::new();
    served.rest.read_to_string(&mut rest).unwrap();
    assert!(status.success(), "SIGTERM stops the server cleanly: {status:?} {rest}");
    rest
}

/// The first start of `serve --demo` creates the demo's administrator's account and prints its
/// password once; it signs in; SIGTERM stops the server; the next start prints no password.
#[test]
fn the_first_start_prints_the_administrators_password_once() {
    for evident in Evident::every_backend() {
        let served = serve(&evident, &["--demo"]);
        let printed = served.printed.join("");
        let password = printed
            .lines()
            .find_map(|l| l.strip_prefix("its password, shown this once: "))
            .unwrap_or_else(|| panic!("{}: no password in {printed}", evident.name()))
            .to_owned();
        assert!(printed.contains("administrator of demo"), "{printed}");
        assert_eq!(http(&served.address, "GET", "/healthz", None).0, 200);
        assert_eq!(http(&served.address, "GET", "/readyz", None).0, 200);
        let sign_in = format!(r#"{{"email":"ciso@northwind.example","password":"{password}"}}"#);
        let (status, body) = http(&served.address, "POST", "/api/session", Some(&sign_in));
        assert_eq!(status, 201, "{body}");
        assert!(stop(served).contains("stopped"));

        let again = serve(&evident, &[]);
        let printed = again.printed.join("");
        assert!(!printed.contains("password"), "{}: the password is shown once: {printed}", evident.name());
        let (status, _) = http(&again.address, "POST", "/api/session", Some(&sign_in));
        assert_eq!(status, 201, "the account is still there");
        stop(again);

        // The installation's log (the account, the two sessions) verifies, and a record edited
        // behind evident's back is named.
        let verified = evident.ok(&["verify"]);
        assert!(
            verified.stdout.contains("installation (accounts and sessions): audit log intact (3 records)"),
            "{}",
            verified.stdout
        );
        evident.tamper("UPDATE installation_log SET actor = 'mallory' WHERE seq = 2");
        let tampered = evident.fails(&["verify"]);
        assert!(tampered.stderr.contains("record_edited"), "{}", tampered.stderr);
    }
}

/// `users create` prints a generated password once, or takes one from standard input; a second
/// account for the same e-mail is refused with its code.
#[test]
fn users_create_prints_a_password_once_or_reads_it() {
    let evident = Evident::sqlite();
    let created = evident.ok(&["users", "create", "ops@acme.example"]);
    let generated = created.stdout.trim().rsplit(' ').next().unwrap().to_owned();
    assert_eq!(generated.len(), 24, "{}", created.stdout);
    let twice = evident.fails(&["users", "create", "ops@acme.example"]);
    assert!(twice.stderr.contains("code: already_exists"), "{}", twice.stderr);

    let mut child = evident
        .command_for_test(&["users", "create", "dev@acme.example", "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"a passphrase from stdin\n").unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(!stdout.contains("a passphrase from stdin"), "a given password is never printed: {stdout}");

    let short = evident.run(&["users", "set-password", "dev@acme.example", "--password-stdin"]);
    assert!(short.stderr.contains("code: invalid_input"), "an empty password is refused: {}", short.stderr);
    let reset = evident.ok(&["users", "set-password", "dev@acme.example"]);
    assert!(reset.stdout.contains("shown this once"), "{}", reset.stdout);
}
