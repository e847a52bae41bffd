//! `pbx serve`: the running server — the embedded store, the admin API, the SIP transports
//! and the engine's shards (`shards`), the config watcher and SIGHUP, with every reason to
//! reload or stop arriving as one `Control` on one channel, and the mail sender (`mail`) that
//! carries out the outbox's letters.
//!
//! Startup needs a valid config file. After that, an invalid edit is logged with its
//! diagnostics and the last good config keeps running; a change to settings that need a
//! restart is refused with a message saying so.

pub mod applier;
mod callbacks;
mod mail;
mod shards;
pub mod voicemail;
mod watch;

use crate::config::model::SecretRef;
use crate::config::report::{render, Format};
use crate::config::validate::{check_file, Options};
use crate::http::admin::{router, Admin};
use crate::store::Store;
use crate::store::{Counters, Journal, Registrations};
use applier::{Applier, Outcome, Refusal, Source};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Every reason to reload or stop.
#[derive(Debug)]
pub enum Control {
    /// Re-read the config files and apply them if they changed.
    Reload(Source),
    /// Stop serving.
    Shutdown,
}

/// Why the server could not start (or stopped with an error).
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot read the config: {0}")]
    Load(#[from] crate::config::load::LoadError),
    #[error("the config is invalid:\n{0}")]
    Invalid(String),
    #[error("the store: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error(
        "cannot write the data directory {}: {reason}\n  pbx serve keeps the applied config, call history and registrations there and does not start without it: \
         make it writable (a read-only mount, its owner) or free space on its disk, or point server.data_dir elsewhere",
        dir.display()
    )]
    DataDir { dir: PathBuf, reason: String },
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("{0}")]
    Startup(String),
    #[error("the runtime: {0}")]
    Runtime(#[from] std::io::Error),
}

/// Runs the server until SIGINT or SIGTERM.
pub fn run(config_path: &Path) -> Result<(), ServeError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve(config_path.to_path_buf()))
}

async fn serve(config_path: PathBuf) -> Result<(), ServeError> {
    let (outcome, sources) = check_file(&config_path, Options::default())?;
    let Some(config) = outcome.config else {
        return Err(ServeError::Invalid(render(
            Format::Human,
            &outcome.diagnostics,
            &sources,
        )));
    };
    let store = open_store(&config.server.data_dir)?;
    let applier = Arc::new(Applier::new(store, &config_path));
    match applier.restore() {
        Ok(Some(rev)) => log(&format!(
            "restored revision {rev} from {}",
            config.server.data_dir.display()
        )),
        Ok(None) => {}
        Err(e) => log(&format!(
            "the stored config cannot be restored ({e}); starting from the file"
        )),
    }
    // Calls the last process did not live to finish are closed in the history.
    let now_ms = shards::now().wall_ms;
    match applier.store().recover_calls(now_ms) {
        Ok(0) => {}
        Ok(n) => log(&format!(
            "closed {n} call(s) in the history that were in progress when the server last stopped"
        )),
        Err(e) => log(&format!(
            "cannot read the journal of calls in progress: {e}"
        )),
    }
    let started = std::time::Instant::now();
    let outcome = applier.reload_files(Source::Startup);
    report(&outcome, &Source::Startup, started.elapsed());
    // A password the config sets through `{env}` or `{file}` may have changed while the
    // config did not: the cabinet's hash of it follows.
    if let Err(e) = applier.sync_web_passwords() {
        log(&format!("cannot update the cabinet's password hashes: {e}"));
    }
    let Some(running) = applier.running() else {
        return Err(ServeError::Startup("no config could be applied".into()));
    };

    let token = admin_token(config.server.admin_token.as_ref());
    if token.is_none() {
        log("no admin token configured (server.admin_token or PBX_ADMIN_TOKEN): the admin API answers 401");
    }
    let addr = config.server.http_listen;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Listen { addr, source })?;
    let bound = listener.local_addr().unwrap_or(addr);
    let cancel = CancellationToken::new();
    let guard = Arc::new(crate::engine::guard::Guard::default());
    let app = router(Arc::new(Admin {
        applier: applier.clone(),
        token,
        data_dir: config.server.data_dir.clone(),
        guard: guard.clone(),
    }));
    let http = tokio::spawn({
        let cancel = cancel.clone();
        async move {
            let shutdown = async move { cancel.cancelled().await };
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
        }
    });
    let cabinet = match config.server.cabinet.listen {
        None => None,
        Some(addr) => {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|source| ServeError::Listen { addr, source })?;
            let bound = listener.local_addr().unwrap_or(addr);
            let app = crate::http::cabinet::router(Arc::new(crate::http::cabinet::Cabinet::new(
                applier.clone(),
            )));
            let cancel = cancel.clone();
            log(&format!("cabinet on http://{bound}"));
            Some(tokio::spawn(async move {
                let shutdown = async move { cancel.cancelled().await };
                axum::serve(
                    listener,
                    app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
                )
                .with_graceful_shutdown(shutdown)
                .await
            }))
        }
    };
    let sip = start_sip(&config.server, &applier, guard, &cancel).await?;
    let mail = mail::spawn(
        applier.clone(),
        config.server.data_dir.clone(),
        cancel.clone(),
    );

    let (tx, mut rx) = mpsc::channel::<Control>(8);
    // The directories of every file of the running config (tenant files may live elsewhere).
    let config_dir = config_path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let config_dir = if config_dir.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        config_dir
    };
    let mut watch_dirs: Vec<PathBuf> = running
        .bundle
        .files
        .keys()
        .filter_map(|name| config_dir.join(name).parent().map(Path::to_path_buf))
        .collect();
    watch_dirs.sort();
    watch_dirs.dedup();
    let _watch = match watch::watch(&watch_dirs, &config.server.data_dir, tx.clone()) {
        Ok(w) => Some(w),
        Err(e) => {
            log(&format!("{e}; reload with SIGHUP instead"));
            None
        }
    };
    spawn_signals(tx.clone());
    // Announced last: once this line is out, edits and signals are noticed.
    log(&format!(
        "admin API on http://{bound}, revision {}",
        running.revision
    ));

    while let Some(control) = rx.recv().await {
        match control {
            Control::Reload(source) => {
                let started = std::time::Instant::now();
                let applier = applier.clone();
                let src = source.clone();
                let outcome = tokio::task::spawn_blocking(move || applier.reload_files(src)).await;
                match outcome {
                    Ok(o) => report(&o, &source, started.elapsed()),
                    Err(e) => log(&format!("reload failed: {e}")),
                }
                reload_certificates(&sip).await;
            }
            Control::Shutdown => break,
        }
    }
    drain(&sip, &mut rx).await;
    log("shutting down");
    cancel.cancel();
    let _ = http.await;
    if let Some(cabinet) = cabinet {
        let _ = cabinet.await;
    }
    let _ = mail.await;
    let Sip {
        shards,
        tasks,
        writer,
        voicemails,
        ..
    } = sip;
    for task in tasks {
        let _ = task.await;
    }
    // The store writer ends when the shards (the senders of what it writes) are gone.
    shards.join().await;
    let _ = writer.await;
    // Messages left while the calls ended are written before the store closes.
    voicemails.close().await;
    applier.store().flush()?;
    Ok(())
}

/// Opens the store and checks that its directory takes a write: a read-only or full data
/// directory stops the start with the OS's reason (a running server that loses its disk keeps
/// serving calls instead — see `shards::write`).
fn open_store(dir: &Path) -> Result<Store, ServeError> {
    use crate::store::StoreError;
    let unwritable = |reason: String| ServeError::DataDir {
        dir: dir.to_owned(),
        reason,
    };
    let store = Store::open(dir).map_err(|e| match &e {
        StoreError::Open { source, .. }
            if matches!(
                source.kind(),
                std::io::ErrorKind::ReadOnlyFilesystem
                    | std::io::ErrorKind::PermissionDenied
                    | std::io::ErrorKind::StorageFull
                    | std::io::ErrorKind::QuotaExceeded
            ) =>
        {
            unwritable(crate::store::reason(&e))
        }
        _ => ServeError::Store(e),
    })?;
    store.probe().map_err(|e| unwritable(e.to_string()))?;
    Ok(store)
}

/// The running SIP side: the engine's shards and the tasks around them.
struct Sip {
    shards: shards::Shards,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// The store writer: it ends when the shards (its senders) are gone.
    writer: tokio::task::JoinHandle<()>,
    /// The voicemail writer the relays hand recordings to.
    voicemails: voicemail::Voicemails,
    /// The TLS listeners' certificates and the files they are read from.
    certificates: Vec<(
        Arc<crate::sip::tls::Certificate>,
        crate::config::model::TlsFiles,
    )>,
}

/// Recordings waiting for the voicemail writer; more are dropped (and counted), never waited
/// for.
const VOICEMAIL_QUEUE: usize = 64;

/// How long a stop waits for calls in progress to end by themselves.
const DRAIN_GRACE: std::time::Duration = std::time::Duration::from_secs(30);

/// Stops taking new calls (503), waits up to `DRAIN_GRACE` for the calls in progress — a second
/// SIGINT/SIGTERM cuts the wait short — then ends what is left properly.
async fn drain(sip: &Sip, rx: &mut mpsc::Receiver<Control>) {
    sip.shards.command(shards::Command::Drain);
    let left = sip.shards.calls();
    if left > 0 {
        log(&format!(
            "stopping: new calls get 503; waiting up to {} s for {left} call(s) in progress (signal again to end them now)",
            DRAIN_GRACE.as_secs()
        ));
    }
    let deadline = tokio::time::Instant::now() + DRAIN_GRACE;
    // The shards publish their call counts as they go: look again every 100 ms.
    let mut look = tokio::time::interval(std::time::Duration::from_millis(100));
    while sip.shards.calls() > 0 && tokio::time::Instant::now() < deadline {
        tokio::select! {
            _ = look.tick() => {}
            control = rx.recv() => {
                if matches!(control, Some(Control::Shutdown) | None) {
                    break;
                }
            }
        }
    }
    let left = sip.shards.calls();
    if left > 0 {
        sip.shards.command(shards::Command::EndCalls);
        log(&format!("ended {left} call(s) in progress"));
        // The BYEs and CANCELs leave and the records reach the store writer before the
        // shards stop; a shard publishes no calls once it has ended them.
        let until = tokio::time::Instant::now() + std::time::Duration::from_secs(2);
        while sip.shards.calls() > 0 && tokio::time::Instant::now() < until {
            look.tick().await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// Binds every SIP listen address, pre-binds relay ports, and starts the engine's shards,
/// the socket tasks and the store writer.
async fn start_sip(
    server: &crate::config::model::Server,
    applier: &Arc<Applier>,
    guard: Arc<crate::engine::guard::Guard>,
    cancel: &CancellationToken,
) -> Result<Sip, ServeError> {
    use crate::config::model::Transport;
    use crate::sip::transport::{run_tcp, run_tls, run_udp, Router};
    let mut udp = Vec::new();
    let mut tcp = Vec::new();
    let mut tls = Vec::new();
    for l in &server.sip_listen {
        let bind_error = |source| ServeError::Listen {
            addr: l.address,
            source,
        };
        match l.transport {
            Transport::Udp => udp.push(Arc::new(
                crate::sip::transport::bind_udp(l.address).map_err(bind_error)?,
            )),
            Transport::Tcp => tcp.push(
                tokio::net::TcpListener::bind(l.address)
                    .await
                    .map_err(bind_error)?,
            ),
            Transport::Tls => {
                let files = l
                    .tls
                    .clone()
                    .ok_or_else(|| ServeError::Startup("a TLS listener without files".into()))?;
                let certificate = crate::sip::tls::Certificate::new(tls_identity(&files)?);
                let listener = tokio::net::TcpListener::bind(l.address)
                    .await
                    .map_err(bind_error)?;
                tls.push((listener, certificate, files));
            }
        }
    }
    let public: Option<std::net::IpAddr> = server
        .sip_public_address
        .as_deref()
        .and_then(|a| a.parse().ok());
    let udp_addrs: Vec<std::net::SocketAddr> =
        udp.iter().filter_map(|s| s.local_addr().ok()).collect();
    let tcp_addr = tcp.first().and_then(|l| l.local_addr().ok());
    let tls_addr = tls.first().and_then(|(l, _, _)| l.local_addr().ok());
    let locals = shards::locals(&udp_addrs, tcp_addr, tls_addr, public);
    // Calls' audio is anchored at relays on the first SIP address, announced as the RTP public
    // address (or the SIP one, or the bound address).
    let bind_ip = server
        .sip_listen
        .first()
        .map_or(std::net::IpAddr::from([127, 0, 0, 1]), |l| l.address.ip());
    let rtp_advertised = server
        .rtp_public_address
        .as_deref()
        .and_then(|a| a.parse().ok())
        .or(public)
        .unwrap_or_else(|| locals.local(crate::sip::link::Link::Udp(0)).1.ip());
    let relays = Arc::new(crate::media::relay::Relays::new(
        bind_ip,
        rtp_advertised,
        server.rtp_port_min,
        server.rtp_port_max,
    ));
    relays.fill();
    let voicemails = voicemail::spawn(applier.clone(), server.data_dir.clone(), VOICEMAIL_QUEUE);
    let sink = voicemails.clone();
    let owners = applier.clone();
    relays.set_recordings(Arc::new(
        move |m: &crate::media::anchor::Mailbox, pcm: Vec<i16>| {
            // Who is told by e-mail, as the running config says now.
            let notify = owners.running().map_or_else(Vec::new, |r| {
                crate::mail::payload::voicemail_recipients(
                    &r.config,
                    &r.resolution,
                    &m.tenant,
                    &m.mailbox,
                )
            });
            sink.offer(voicemail::Recording {
                tenant: m.tenant.clone(),
                mailbox: m.mailbox.clone(),
                caller: m.caller.clone(),
                number: m.number.clone(),
                received_ms: m.received_ms,
                pcm,
                keep: m.keep,
                notify,
            })
        },
    ));
    // Evenly's order continues where it was; phones registered before a restart stay reachable.
    let last_calls = applier.store().last_calls().unwrap_or_else(|e| {
        log(&format!("cannot read who last received calls: {e}"));
        Default::default()
    });
    let bindings = applier.store().bindings().unwrap_or_else(|e| {
        log(&format!("cannot read the stored registrations: {e}"));
        Vec::new()
    });
    let location = crate::sip::location::MemoryLocation::with(bindings, shards::now().wall_ms);
    if !location.is_empty() {
        log(&format!("restored {} registration(s)", location.len()));
    }
    let shared = crate::engine::Shared {
        location: Arc::new(location),
        presence: Arc::new(crate::engine::presence::Presence::with_last_calls(
            last_calls,
        )),
        ports: relays.clone(),
        auth: crate::sip::auth::DigestAuth::new(shards::os_seed()),
        guard: guard.clone(),
    };
    let (persist, writer) = shards::writer(applier.clone());
    let (reports, incoming_reports) = callbacks::channel();
    let persist = persist.with_callbacks(reports);
    // Requests per source, limited before parsing; the rules follow the running config.
    let limiter = Arc::new(crate::engine::limiter::Limiter::default());
    let mut directories = applier.directories();
    let rules = {
        let limiter = limiter.clone();
        move |d: &Option<Arc<crate::engine::directory::Directory>>| {
            if let Some(d) = d {
                limiter.set_rules(shards::limits(d));
            }
        }
    };
    rules(&directories.borrow_and_update());
    let (sink, inboxes) = shards::sink(shards::count(), guard, limiter);
    let router = Router::new(udp.clone(), sink, cancel.clone());
    let setup = shards::Setup {
        locals,
        shared: shared.clone(),
        relays: relays.clone(),
        directories: applier.directories(),
        persist: persist.clone(),
        cancel: cancel.clone(),
    };
    let shards = shards::Shards::start(setup, inboxes, router.clone());
    let mut tasks = vec![
        tokio::spawn(callbacks::run(
            applier.clone(),
            shared,
            shards.starter(),
            persist,
            incoming_reports,
            cancel.clone(),
        )),
        tokio::spawn({
            let cancel = cancel.clone();
            async move {
                loop {
                    tokio::select! {
                        _ = cancel.cancelled() => return,
                        changed = directories.changed() => {
                            if changed.is_err() {
                                return;
                            }
                            rules(&directories.borrow_and_update());
                        }
                    }
                }
            }
        }),
        tokio::spawn(relays.clone().run_refill(cancel.clone())),
        tokio::spawn(relays.clone().run_pacer(cancel.clone())),
    ];
    for (i, socket) in udp.iter().enumerate() {
        log(&format!(
            "SIP on udp {}",
            socket
                .local_addr()
                .map_or_else(|_| "?".into(), |a| a.to_string())
        ));
        for _ in 0..UDP_READERS {
            tasks.push(tokio::spawn(run_udp(i, router.clone())));
        }
    }
    for listener in tcp {
        log(&format!(
            "SIP on tcp {}",
            listener
                .local_addr()
                .map_or_else(|_| "?".into(), |a| a.to_string())
        ));
        tasks.push(tokio::spawn(run_tcp(listener, router.clone())));
    }
    let mut certificates = Vec::new();
    for (listener, certificate, files) in tls {
        log(&format!(
            "SIP on tls {}",
            listener
                .local_addr()
                .map_or_else(|_| "?".into(), |a| a.to_string())
        ));
        let acceptor = tokio_rustls::TlsAcceptor::from(certificate.server_config());
        tasks.push(tokio::spawn(run_tls(listener, acceptor, router.clone())));
        certificates.push((certificate, files));
    }
    Ok(Sip {
        shards,
        tasks,
        writer,
        voicemails,
        certificates,
    })
}

/// A TLS listener's certificate and key, loaded for rustls.
fn tls_identity(
    files: &crate::config::model::TlsFiles,
) -> Result<rustls::sign::CertifiedKey, ServeError> {
    crate::config::tls::load(&files.certificate, &files.key)
        .and_then(|identity| {
            identity
                .certified()
                .map_err(|e| crate::config::tls::TlsError::Mismatch {
                    certificate: files.certificate.clone(),
                    key: files.key.clone(),
                    reason: e.to_string(),
                })
        })
        .map_err(|e| ServeError::Startup(format!("TLS: {e}")))
}

/// Reads every TLS listener's certificate and key again (at SIGHUP and every reload of the
/// config files): a renewed certificate is presented from the next handshake on; files that
/// cannot be used are logged and the certificate in use is kept.
async fn reload_certificates(sip: &Sip) {
    for (certificate, files) in &sip.certificates {
        let files = files.clone();
        match tokio::task::spawn_blocking(move || tls_identity(&files)).await {
            Ok(Ok(key)) => certificate.set(key),
            Ok(Err(e)) => log(&format!("{e}; the certificate in use is kept")),
            Err(e) => log(&format!("TLS: {e}")),
        }
    }
}

/// Tasks reading each UDP socket: parsing is spread over them, so one reads while another
/// parses.
const UDP_READERS: usize = 2;

/// SIGHUP reloads; SIGINT and SIGTERM stop (a second one stops without waiting for calls).
fn spawn_signals(tx: mpsc::Sender<Control>) {
    use tokio::signal::unix::{signal, SignalKind};
    tokio::spawn(async move {
        let (Ok(mut hup), Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::hangup()),
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            log("cannot install signal handlers");
            return;
        };
        loop {
            let control = tokio::select! {
                _ = hup.recv() => Control::Reload(Source::Signal),
                _ = term.recv() => Control::Shutdown,
                _ = int.recv() => Control::Shutdown,
            };
            // A second SIGINT/SIGTERM while stopping ends the calls still in progress.
            if tx.send(control).await.is_err() {
                return;
            }
        }
    });
}

/// The admin token: the config's `server.admin_token`, else `PBX_ADMIN_TOKEN`.
fn admin_token(configured: Option<&SecretRef>) -> Option<String> {
    match configured {
        Some(secret) => crate::credentials::reveal(secret),
        None => std::env::var("PBX_ADMIN_TOKEN")
            .ok()
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty()),
    }
}

fn report(outcome: &Outcome, source: &Source, took: std::time::Duration) {
    match outcome {
        Outcome::Applied {
            revision,
            plan,
            credentials,
            warnings,
            phases,
        } => {
            log(&format!(
                "revision {revision} applied by {} in {} ms ({}): {}",
                source.actor(),
                took.as_millis(),
                phases.words(),
                crate::config::plan_report::summary_line(plan)
            ));
            // What moved from one person to another (namesakes told apart by order, generated
            // extensions renumbered because the config took them).
            for n in &plan.notes {
                log(&format!("note: tenant {}: {}", n.tenant, n.message));
            }
            // Warnings once per apply (a setting accepted but not carried out, ...).
            for w in warnings {
                log(&format!(
                    "warning[{}]: {} ({})",
                    w.code.code(),
                    w.message,
                    w.path
                ));
            }
            // Nobody else sees credentials generated by a file change: the operator gets them
            // here, once (until the welcome letters mail them).
            for c in credentials {
                log(&format!(
                    "new credentials: {}/{} extension {} password {}",
                    c.tenant,
                    c.login,
                    c.extension.as_deref().unwrap_or("-"),
                    c.password
                ));
            }
        }
        Outcome::Unchanged { .. } => {}
        Outcome::Rejected(Refusal::Invalid { rendered, .. }) => {
            log(&format!("the edited config is invalid; the running config stays:\n{rendered}"))
        }
        Outcome::Rejected(Refusal::RestartRequired(fields)) => log(&format!(
            "refused: {} change only with a restart; the running config stays (restart pbx serve to apply)",
            fields.join(", ")
        )),
        Outcome::Rejected(r) => log(&format!("reload refused: {r:?}; the running config stays")),
    }
}

fn log(message: &str) {
    eprintln!("pbx serve: {message}");
}
