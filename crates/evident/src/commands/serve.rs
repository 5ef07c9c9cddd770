//! `evident serve` and `evident users`.

use std::io::BufRead as _;
use std::process::ExitCode;

use evident_app::Operator;
use evident_app::accounts::{AccountsBy, Password};

use crate::cli::{Global, ServeArgs, UsersCommand};
use crate::context;
use crate::output::say;

pub async fn serve(global: &Global, args: ServeArgs) -> anyhow::Result<ExitCode> {
    let started = std::time::Instant::now();
    let app = context::app(global).await?;
    if args.demo {
        let outcome = app.demo().await?;
        let verb = if outcome.created { "created" } else { "found" };
        say!("{verb} the demo organisation {} ({})", outcome.organisation.slug, outcome.organisation.name);
    }
    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .map_err(|e| context::failure(format!("cannot listen on {}: {e}", args.bind), "choose another --bind ADDR"))?;
    let address = listener.local_addr()?;
    let operator = Operator::new(context::operator_name());
    match app.ensure_first_admin(&operator).await? {
        Some(first) => {
            say!("created the account of {}, administrator of {}", first.email, first.organisation);
            say!("its password, shown this once: {}", first.password.expose());
            say!("open http://{address}/ in a browser and sign in as {} with that password", first.email);
        }
        None if app.store().account_count().await? == 0 => {
            say!("no account can sign in yet: run `evident users create EMAIL` for a member of an organisation");
        }
        None => {}
    }
    let config = evident_server::Config { trust_proxy: args.trust_proxy, ..Default::default() };
    let router = evident_server::router(app, config);
    say!("evident is serving on http://{address} (ready in {} ms); stop with Ctrl-C", started.elapsed().as_millis());
    evident_server::serve(listener, router, evident_server::shutdown_signal()).await?;
    say!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// One line from standard input: the password, never echoed back.
fn password_from_stdin() -> anyhow::Result<Password> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(Password::parse(line.trim_end_matches(['\r', '\n']))?)
}

pub async fn users(global: &Global, command: UsersCommand) -> anyhow::Result<ExitCode> {
    let app = context::app(global).await?;
    let operator = Operator::new(context::operator_name());
    let by = AccountsBy::Operator(&operator);
    match command {
        UsersCommand::Create { email, password_stdin } => {
            let given = if password_stdin { Some(password_from_stdin()?) } else { None };
            match app.create_account(by, email.clone(), given).await? {
                Some(generated) => {
                    say!("created the account of {email}; its password, shown this once: {}", generated.expose())
                }
                None => say!("created the account of {email} with the password given"),
            }
        }
        UsersCommand::SetPassword { email, password_stdin } => {
            let given = if password_stdin { Some(password_from_stdin()?) } else { None };
            match app.set_password(by, &email, given).await? {
                Some(generated) => say!(
                    "set a new password for {email} (their sessions are ended), shown this once: {}",
                    generated.expose()
                ),
                None => say!("set the password given for {email}; their sessions are ended"),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
