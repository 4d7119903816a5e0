//! The `orgsync` command: serve (default), migrate, token, openapi, user add.

use std::process::ExitCode;
use std::time::Duration;

use actix_web::HttpServer;
use clap::{Parser, Subcommand};
use orgsync::auth::{JwtKeys, Role, Subject};
use orgsync::config::Settings;
use orgsync::{create_app, telemetry, AppState};

mod serve_args;
use serve_args::ServeArgs;

#[derive(Parser)]
#[command(
    name = "orgsync",
    version,
    about = "Keeps a server organization and a hosted client organization in step"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the web service (the default).
    Serve(Box<ServeArgs>),
    /// Applies pending database migrations and exits.
    Migrate,
    /// Prints a bearer token signed with the configured secret.
    Token {
        /// provider, org_admin or org_user
        #[arg(long)]
        role: String,
        /// The org an org role is bound to.
        #[arg(long)]
        org: Option<String>,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 3600)]
        ttl: u64,
    },
    /// Prints the OpenAPI document (the bytes of openapi/openapi.json).
    Openapi,
    /// Manages the users who sign in without an org.
    User {
        #[command(subcommand)]
        action: UserCommand,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Adds a provider user, who signs in with POST /rest/v1/auth/token without Org. The
    /// password is asked for on a terminal, or read from the first line of stdin.
    Add {
        /// The user's name.
        #[arg(long, value_name = "NAME")]
        provider: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Openapi) = cli.command {
        print!("{}", orgsync::api::openapi_json());
        return ExitCode::SUCCESS;
    }
    if let Some(Command::Serve(args)) = &cli.command {
        args.export();
    }
    // A missing .env is normal; the environment alone is enough.
    let _ = dotenvy::dotenv();
    if let Some(Command::Token { .. }) = cli.command {
        // A token signed with a secret made up here would be refused by the service.
        if let Some(path) = orgsync::config::jwt_secret_file().filter(|p| !p.exists()) {
            return fail(&format!(
                "no token secret at {}: run this where the service runs, or set \
                 ORGSYNC_DATA_DIR or ORGSYNC_JWT_SECRET as the service has them",
                path.display()
            ));
        }
    }
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    telemetry::init(settings.log_format);
    match cli
        .command
        .unwrap_or_else(|| Command::Serve(Box::default()))
    {
        Command::Serve(_) => serve(settings),
        Command::Migrate => match AppState::new(settings) {
            Ok(_) => {
                println!("migrations applied");
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e),
        },
        Command::Token { role, org, ttl } => token(&settings, &role, org.as_deref(), ttl),
        Command::Openapi => ExitCode::SUCCESS,
        Command::User {
            action: UserCommand::Add { provider },
        } => add_provider_user(settings, &provider),
    }
}

fn add_provider_user(settings: Settings, name: &str) -> ExitCode {
    use std::io::{BufRead, IsTerminal};
    let password = if std::io::stdin().is_terminal() {
        rpassword::prompt_password(format!("Password for {name}: "))
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map(|_| line.trim_end_matches(['\r', '\n']).to_owned())
    };
    let password = match password {
        Ok(p) => p,
        Err(e) => return fail(&format!("reading the password: {e}")),
    };
    let name = match orgsync::auth::password::check_new_user(name, &password) {
        Ok(n) => n,
        Err(e) => return fail(e.detail()),
    };
    let hash = match orgsync::auth::password::hash(&password) {
        Ok(h) => h,
        Err(e) => return fail(e.detail()),
    };
    let state = match AppState::new(settings) {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    let created = state
        .db
        .get()
        .map_err(|e| e.to_string())
        .and_then(|mut conn| {
            orgsync::db::users::create_provider(&mut conn, &name, &hash, orgsync::db::now_micros())
                .map_err(|e| e.to_string())
        });
    match created {
        Ok(user) => {
            println!("provider user {} added", user.user_name);
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("orgsync: {message}");
    ExitCode::FAILURE
}

fn token(settings: &Settings, role: &str, org: Option<&str>, ttl: u64) -> ExitCode {
    let Some(role) = Role::parse(role) else {
        return fail("--role must be provider, org_admin or org_user");
    };
    if role != Role::Provider && org.is_none() {
        return fail("an org role needs --org NAME");
    }
    let keys = JwtKeys::new(&settings.jwt_secret);
    // An org token is bound to the org as it is now: it dies with it.
    let org = match org.map(|name| org_of(settings, name)).transpose() {
        Ok(org) => org,
        Err(e) => return fail(&e),
    };
    let subject = Subject {
        name: "cli".to_owned(),
        role,
        org,
        user: None,
    };
    match keys.issue(&subject, Duration::from_secs(ttl)) {
        Ok(t) => {
            println!("{t}");
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e.to_string()),
    }
}

/// The name and immutable id of the org `name`, read from the configured database.
fn org_of(settings: &Settings, name: &str) -> Result<(String, String), String> {
    let db = orgsync::db::Db::connect(&settings.database_url, 2)?;
    let mut conn = db.get().map_err(|e| e.to_string())?;
    match orgsync::db::orgs::find(&mut conn, name).map_err(|e| e.to_string())? {
        Some(org) => Ok((org.name, org.uid)),
        None => Err(format!("organization '{name}' does not exist")),
    }
}

fn serve(settings: Settings) -> ExitCode {
    let bind = settings.bind.clone();
    let http_workers = settings.http_workers;
    let state = match AppState::new(settings) {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    let result = actix_web::rt::System::new().block_on(async move {
        state.spawn_background();
        let mut server = HttpServer::new(move || create_app(state.clone()));
        if let Some(n) = http_workers {
            server = server.workers(n.max(1));
        }
        let server = server.bind(&bind)?;
        for addr in server.addrs() {
            tracing::info!(
                "orgsync listening on http://{addr} — Swagger UI at http://{addr}/swagger-ui/, \
                 the admin console at http://{addr}/admin/"
            );
            println!(
                "orgsync is up: http://{addr}/swagger-ui/ (admin console: http://{addr}/admin/)"
            );
        }
        server.run().await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&format!("cannot serve on {}: {e}", bind_hint())),
    }
}

fn bind_hint() -> String {
    std::env::var("ORGSYNC_BIND").unwrap_or_else(|_| "127.0.0.1:8080".to_owned())
}
