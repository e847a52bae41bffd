//! Voicemail messages on disk: the writer that turns a finished recording into a WAV file and
//! an index entry, keeps each box to its size, and the file-side operations the admin API
//! shares with it (where a message's recording is, deleting a message with its file).
//!
//! The writer is one tokio task behind a bounded queue ([`spawn`] -> [`Voicemails`]): a call
//! hands its recording over with [`Voicemails::offer`], which never waits — a full queue drops
//! the recording and counts it. For each recording the task, off the runtime's threads:
//! takes a message id from the store, writes `<data_dir>/voicemail/<tenant>/<id>.wav` through a
//! temporary file (written, fsynced, renamed, the directory fsynced), adds the index entry
//! (flushed), then removes the box's oldest messages beyond `keep` (entry first, then file).
//! A crash between the file and its entry leaves a file nobody lists, never an entry without
//! its file. Once the entry is written, a `voicemail_letter` per recipient goes into the
//! outbox (a crash just then loses the letter, never the message). Failures are logged and
//! counted, never a panic. [`Voicemails::close`] stops taking
//! recordings and waits until those queued are written.

use crate::mail::payload::{self, Recipient, VoicemailLetter};
use crate::media::wav;
use crate::serve::applier::Applier;
use crate::store::{Outbox, Store, StoreError, Voicemail, VoicemailIndex};
use std::fs;
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

/// A finished recording, ready to become a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recording {
    pub tenant: String,
    /// The box: `staff:<login>` or `department:<id>`.
    pub mailbox: String,
    /// Who called: a login, or the number an outside caller presented.
    pub caller: String,
    /// The company number the caller dialled, if any.
    pub number: Option<String>,
    /// When the message was left, ms since the epoch.
    pub received_ms: u64,
    /// 8000 Hz mono samples.
    pub pcm: Vec<i16>,
    /// Messages the box keeps; the oldest beyond this go.
    pub keep: u32,
    /// Who gets the message by e-mail (a `voicemail_letter` each, enqueued once it is written).
    pub notify: Vec<Recipient>,
}

/// Why a message could not be written, found or removed.
#[derive(Debug, thiserror::Error)]
pub enum VoicemailError {
    /// The tenant id cannot name a directory.
    #[error("the tenant id {0:?} cannot name a voicemail directory")]
    Tenant(String),
    /// An index entry names a recording outside the data directory.
    #[error("the voicemail index names the recording {0:?}, which is not a path inside the data directory")]
    Path(String),
    /// A file operation failed.
    #[error("cannot {op} {}: {source}", path.display())]
    Io {
        /// What was being done, e.g. `write`.
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn io_error<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> VoicemailError + 'a {
    move |source| VoicemailError::Io {
        op,
        path: path.to_owned(),
        source,
    }
}

/// What holds the store the writer writes to: the server's [`Applier`] (which owns it), or a
/// bare [`Store`].
pub trait StoreHandle: Send + Sync + 'static {
    /// The store.
    fn store(&self) -> &Store;
}

impl StoreHandle for Store {
    fn store(&self) -> &Store {
        self
    }
}

impl StoreHandle for Applier {
    fn store(&self) -> &Store {
        Applier::store(self)
    }
}

/// Whether `tenant` is a single, plain directory name (config tenant ids always are).
fn plain_name(tenant: &str) -> bool {
    !tenant.is_empty()
        && tenant.len() <= 128
        && !tenant.starts_with('.')
        && tenant
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// The recording of `message`, inside `data_dir`; an error when its `file` is absolute or
/// leaves the directory.
pub fn recording_path(data_dir: &Path, message: &Voicemail) -> Result<PathBuf, VoicemailError> {
    let file = Path::new(&message.file);
    let plain =
        !message.file.is_empty() && file.components().all(|c| matches!(c, Component::Normal(_)));
    if !plain {
        return Err(VoicemailError::Path(message.file.clone()));
    }
    Ok(data_dir.join(file))
}

/// Removes a file; one already gone is fine.
fn remove_file(path: &Path) -> Result<(), VoicemailError> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_error("remove", path)(e)),
        _ => Ok(()),
    }
}

/// Deletes message `id` of `tenant`: its index entry, then its recording. The removed entry;
/// `None` when `tenant` has no such message (whoever else's it may be). Once the entry is gone
/// the message is deleted: a recording that cannot be removed is logged and left behind.
pub fn delete(
    store: &Store,
    data_dir: &Path,
    tenant: &str,
    id: u64,
) -> Result<Option<Voicemail>, VoicemailError> {
    let Some(message) = store.delete_voicemail(tenant, id)? else {
        return Ok(None);
    };
    if let Err(e) = recording_path(data_dir, &message).and_then(|path| remove_file(&path)) {
        log(&format!(
            "voicemail {tenant}/{id} deleted, its recording left behind: {e}"
        ));
    }
    Ok(Some(message))
}

/// Writes `bytes` to `path` durably: a temporary file beside it, fsynced, renamed over it,
/// and the directory fsynced so the rename survives a crash.
fn write_durably(path: &Path, bytes: &[u8]) -> Result<(), VoicemailError> {
    let tmp = path.with_extension("wav.tmp");
    let written = (|| {
        let mut file = fs::File::create(&tmp).map_err(io_error("create", &tmp))?;
        file.write_all(bytes).map_err(io_error("write", &tmp))?;
        file.sync_all().map_err(io_error("fsync", &tmp))?;
        fs::rename(&tmp, path).map_err(io_error("rename", &tmp))
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written?;
    if let Some(dir) = path.parent() {
        fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io_error("fsync", dir))?;
    }
    Ok(())
}

/// Writes `recording` as a message: its WAV file, then its index entry. Its id; `None` when
/// the box keeps no messages (`keep` 0), and nothing is written.
pub fn write(
    store: &Store,
    data_dir: &Path,
    recording: &Recording,
) -> Result<Option<u64>, VoicemailError> {
    if !plain_name(&recording.tenant) {
        return Err(VoicemailError::Tenant(recording.tenant.clone()));
    }
    if recording.keep == 0 {
        return Ok(None);
    }
    let id = store.new_voicemail_id()?;
    let file = format!("voicemail/{}/{id}.wav", recording.tenant);
    let path = data_dir.join(&file);
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(io_error("create the directory", dir))?;
    }
    write_durably(&path, &wav::write(&recording.pcm))?;
    let message = Voicemail {
        id,
        tenant: recording.tenant.clone(),
        mailbox: recording.mailbox.clone(),
        caller: recording.caller.clone(),
        number: recording.number.clone(),
        received_ms: recording.received_ms,
        duration_ms: recording.pcm.len() as u64 * 1000 / u64::from(wav::SAMPLE_RATE),
        file,
        heard: false,
    };
    let letters: Vec<VoicemailLetter> = recording
        .notify
        .iter()
        .map(|r| VoicemailLetter {
            tenant: message.tenant.clone(),
            message: id,
            mailbox: message.mailbox.clone(),
            caller: message.caller.clone(),
            number: message.number.clone(),
            received_ms: message.received_ms,
            duration_ms: message.duration_ms,
            file: message.file.clone(),
            email: r.email.clone(),
            language: r.language.clone(),
            timezone: r.timezone.clone(),
        })
        .collect();
    if let Err(e) = store.add_voicemail(message) {
        let _ = fs::remove_file(&path);
        return Err(e.into());
    }
    for letter in letters {
        let enqueued = serde_json::to_value(&letter)
            .map_err(|e| e.to_string())
            .and_then(|v| {
                store
                    .enqueue(payload::VOICEMAIL, v, recording.received_ms)
                    .map_err(|e| e.to_string())
            });
        if let Err(e) = enqueued {
            log(&format!(
                "voicemail {}/{id}: the letter to {} cannot be enqueued: {e}",
                recording.tenant, letter.email
            ));
        }
    }
    Ok(Some(id))
}

/// Removes the oldest messages of `tenant`'s `mailbox` beyond the newest `keep` (entries and
/// files); how many went.
pub fn prune(
    store: &Store,
    data_dir: &Path,
    tenant: &str,
    mailbox: &str,
    keep: u32,
) -> Result<usize, VoicemailError> {
    let messages = store.voicemails(tenant, Some(mailbox))?;
    let keep = usize::try_from(keep).unwrap_or(usize::MAX);
    let mut removed = 0;
    for old in messages.iter().skip(keep) {
        if delete(store, data_dir, tenant, old.id)?.is_some() {
            removed += 1;
        }
    }
    Ok(removed)
}

/// What the writer counted.
#[derive(Debug, Default)]
struct Counts {
    written: AtomicU64,
    dropped: AtomicU64,
    failed: AtomicU64,
}

/// The way to the voicemail writer; cheap to clone.
#[derive(Clone, Debug)]
pub struct Voicemails {
    queue: mpsc::Sender<Recording>,
    counts: Arc<Counts>,
    stop: CancellationToken,
    done: watch::Receiver<bool>,
}

/// Starts the writer with room for `capacity` recordings waiting (at least 1). Messages go to
/// `store` and their files under `data_dir` (the server's data directory).
pub fn spawn<S: StoreHandle>(store: Arc<S>, data_dir: PathBuf, capacity: usize) -> Voicemails {
    let (queue, incoming) = mpsc::channel(capacity.max(1));
    let counts = Arc::new(Counts::default());
    let stop = CancellationToken::new();
    let (finished, done) = watch::channel(false);
    tokio::spawn(run(
        store,
        data_dir,
        incoming,
        counts.clone(),
        stop.clone(),
        finished,
    ));
    Voicemails {
        queue,
        counts,
        stop,
        done,
    }
}

impl Voicemails {
    /// Hands a recording to the writer without waiting; `false` when it was dropped (the queue
    /// is full, or the writer closed), which is counted.
    pub fn offer(&self, recording: Recording) -> bool {
        match self.queue.try_send(recording) {
            Ok(()) => true,
            Err(e) => {
                let (why, r) = match e {
                    mpsc::error::TrySendError::Full(r) => ("the queue is full", r),
                    mpsc::error::TrySendError::Closed(r) => ("the writer is closed", r),
                };
                self.counts.dropped.fetch_add(1, Ordering::Relaxed);
                log(&format!(
                    "voicemail for {}/{} from {} dropped: {why}",
                    r.tenant, r.mailbox, r.caller
                ));
                false
            }
        }
    }

    /// Recordings dropped because the queue was full (or the writer closed).
    pub fn dropped(&self) -> u64 {
        self.counts.dropped.load(Ordering::Relaxed)
    }

    /// Recordings that failed to become messages (or whose box could not be pruned).
    pub fn failed(&self) -> u64 {
        self.counts.failed.load(Ordering::Relaxed)
    }

    /// Messages written.
    pub fn written(&self) -> u64 {
        self.counts.written.load(Ordering::Relaxed)
    }

    /// Stops taking recordings (later offers are dropped) and waits until every recording
    /// already queued is written. Any clone may close; every clone's `close` waits.
    pub async fn close(mut self) {
        self.stop.cancel();
        // An error means the task is gone, which is as finished as it gets.
        let _ = self.done.wait_for(|finished| *finished).await;
    }
}

/// The writer: one recording at a time, each written off the runtime's threads.
async fn run<S: StoreHandle>(
    store: Arc<S>,
    data_dir: PathBuf,
    mut incoming: mpsc::Receiver<Recording>,
    counts: Arc<Counts>,
    stop: CancellationToken,
    finished: watch::Sender<bool>,
) {
    loop {
        let next = tokio::select! {
            biased;
            r = incoming.recv() => r,
            _ = stop.cancelled() => {
                // No more offers; what is queued is still written.
                incoming.close();
                incoming.recv().await
            }
        };
        let Some(recording) = next else { break };
        let writer = store.clone();
        let dir = data_dir.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            let store = writer.store();
            let written = write(store, &dir, &recording);
            let pruned = match &written {
                Ok(Some(_)) => Some(prune(
                    store,
                    &dir,
                    &recording.tenant,
                    &recording.mailbox,
                    recording.keep,
                )),
                _ => None,
            };
            (recording, written, pruned)
        })
        .await;
        match outcome {
            Ok((r, written, pruned)) => {
                let whose = format!("{}/{} from {}", r.tenant, r.mailbox, r.caller);
                match written {
                    Ok(Some(_)) => {
                        counts.written.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(None) => {}
                    Err(e) => {
                        counts.failed.fetch_add(1, Ordering::Relaxed);
                        log(&format!("cannot keep the voicemail for {whose}: {e}"));
                        // A disk that takes no writes is the store's health too: the history
                        // writer then reopens the store once it does.
                        let health = store.store().health();
                        let line = match &e {
                            VoicemailError::Store(se) => health.report("a voicemail", se),
                            VoicemailError::Io { source, .. } if disk_full_or_read_only(source) => {
                                let now_ms = std::time::SystemTime::now()
                                    .duration_since(std::time::UNIX_EPOCH)
                                    .map_or(0, |d| d.as_millis() as u64);
                                health.failed(
                                    "a voicemail",
                                    &source.to_string(),
                                    std::time::Instant::now(),
                                    now_ms,
                                )
                            }
                            _ => None,
                        };
                        if let Some(line) = line {
                            log(&line);
                        }
                    }
                }
                if let Some(Err(e)) = pruned {
                    counts.failed.fetch_add(1, Ordering::Relaxed);
                    log(&format!(
                        "cannot remove old messages of {}/{}: {e}",
                        r.tenant, r.mailbox
                    ));
                }
            }
            Err(e) => {
                counts.failed.fetch_add(1, Ordering::Relaxed);
                log(&format!("the voicemail writer failed: {e}"));
            }
        }
    }
    let _ = finished.send(true);
}

fn log(message: &str) {
    eprintln!("pbx serve: {message}");
}

/// Whether `e` says the data directory takes no writes (full, or read-only).
fn disk_full_or_read_only(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ENOSPC | libc::EROFS | libc::EDQUOT)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_or_read_only_disk_is_told_from_other_file_errors() {
        for code in [libc::ENOSPC, libc::EROFS, libc::EDQUOT] {
            assert!(disk_full_or_read_only(&io::Error::from_raw_os_error(code)));
        }
        assert!(!disk_full_or_read_only(&io::Error::from_raw_os_error(
            libc::ENOENT
        )));
        assert!(!disk_full_or_read_only(&io::Error::other("x")));
    }

    fn recording(mailbox: &str, at: u64, keep: u32) -> Recording {
        Recording {
            tenant: "acme".into(),
            mailbox: mailbox.into(),
            caller: "+79161112233".into(),
            number: Some("+74950000000".into()),
            received_ms: at,
            pcm: (0..800).map(|i| (i * 40 - 16000) as i16).collect(),
            keep,
            notify: Vec::new(),
        }
    }

    fn open() -> (tempfile::TempDir, Arc<Store>) {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path()).unwrap());
        (dir, store)
    }

    fn files(dir: &Path, tenant: &str) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir.join("voicemail").join(tenant))
            .map(|entries| {
                entries
                    .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    #[tokio::test]
    async fn a_recording_becomes_a_wav_file_and_an_index_entry() {
        let (dir, store) = open();
        let writer = spawn(store.clone(), dir.path().to_owned(), 8);
        let r = recording("staff:anna", 1_000, 10);
        assert!(writer.offer(r.clone()));
        writer.clone().close().await;
        assert_eq!(
            (writer.written(), writer.failed(), writer.dropped()),
            (1, 0, 0)
        );
        let messages = store.voicemails("acme", None).unwrap();
        assert_eq!(messages.len(), 1);
        let m = &messages[0];
        assert_eq!(m.file, format!("voicemail/acme/{}.wav", m.id));
        assert_eq!(
            (m.mailbox.as_str(), m.caller.as_str(), m.number.as_deref()),
            ("staff:anna", "+79161112233", Some("+74950000000"))
        );
        assert_eq!((m.received_ms, m.duration_ms, m.heard), (1_000, 100, false));
        let bytes = fs::read(recording_path(dir.path(), m).unwrap()).unwrap();
        assert_eq!(bytes, wav::write(&r.pcm));
        assert_eq!(wav::read(&bytes).unwrap(), r.pcm);
        assert_eq!(
            files(dir.path(), "acme"),
            [format!("{}.wav", m.id)],
            "no temporary left"
        );
    }

    #[tokio::test]
    async fn a_box_keeps_its_newest_messages_and_other_boxes_are_untouched() {
        let (dir, store) = open();
        let writer = spawn(store.clone(), dir.path().to_owned(), 16);
        writer.offer(recording("department:sales", 50, 2));
        // Left out of order: the oldest by time goes, not the first written.
        for at in [300, 100, 400, 200] {
            assert!(writer.offer(recording("staff:anna", at, 2)));
        }
        writer.clone().close().await;
        assert_eq!((writer.written(), writer.failed()), (5, 0));
        let anna = store.voicemails("acme", Some("staff:anna")).unwrap();
        assert_eq!(
            anna.iter().map(|m| m.received_ms).collect::<Vec<_>>(),
            [400, 300]
        );
        let sales = store.voicemails("acme", Some("department:sales")).unwrap();
        assert_eq!(sales.len(), 1);
        let mut expected: Vec<String> = anna
            .iter()
            .chain(&sales)
            .map(|m| format!("{}.wav", m.id))
            .collect();
        expected.sort();
        assert_eq!(
            files(dir.path(), "acme"),
            expected,
            "removed messages' files are gone"
        );
    }

    #[tokio::test]
    async fn a_full_queue_drops_and_counts_and_close_writes_what_was_queued() {
        let (dir, store) = open();
        // On this single-threaded runtime the writer runs only when the test awaits: the
        // offers below fill the queue deterministically.
        let writer = spawn(store.clone(), dir.path().to_owned(), 2);
        let taken: Vec<bool> = (0..5)
            .map(|i| writer.offer(recording("staff:anna", i, 100)))
            .collect();
        assert_eq!(taken, [true, true, false, false, false]);
        assert_eq!(writer.dropped(), 3);
        let other = writer.clone();
        writer.clone().close().await;
        assert_eq!(
            writer.written(),
            2,
            "close waited for the queued recordings"
        );
        assert_eq!(store.voicemails("acme", None).unwrap().len(), 2);
        assert!(!other.offer(recording("staff:anna", 9, 100)), "closed");
        assert_eq!(other.dropped(), 4);
        other.close().await;
    }

    #[tokio::test]
    async fn failures_are_counted_and_the_writer_goes_on() {
        let (dir, store) = open();
        let writer = spawn(store.clone(), dir.path().to_owned(), 8);
        for tenant in ["../evil", "", "a/b", ".hidden"] {
            writer.offer(Recording {
                tenant: tenant.into(),
                ..recording("staff:anna", 1, 10)
            });
        }
        writer.offer(recording("staff:anna", 2, 10));
        // A box that keeps nothing keeps nothing, and that is no failure.
        writer.offer(recording("staff:oleg", 3, 0));
        writer.clone().close().await;
        assert_eq!((writer.written(), writer.failed()), (1, 4));
        assert_eq!(store.voicemails("acme", None).unwrap().len(), 1);
        assert!(!dir.path().join("evil").exists());

        // The files cannot be written: no entry, no temporary file, the failure counted.
        let (dir, store) = open();
        fs::write(dir.path().join("voicemail"), b"in the way").unwrap();
        let writer = spawn(store.clone(), dir.path().to_owned(), 8);
        writer.offer(recording("staff:anna", 1, 10));
        writer.clone().close().await;
        assert_eq!((writer.written(), writer.failed()), (0, 1));
        assert!(store.voicemails("acme", None).unwrap().is_empty());
        let e = write(&store, dir.path(), &recording("staff:anna", 1, 10)).unwrap_err();
        assert!(e.to_string().contains("cannot create the directory"), "{e}");
    }

    #[test]
    fn a_written_message_enqueues_a_letter_per_recipient() {
        let (dir, store) = open();
        let mut r = recording("department:sales", 5_000, 10);
        r.notify = ["anna@example.com", "boris@example.com"]
            .map(|email| Recipient {
                email: email.into(),
                language: "en".into(),
                timezone: "Europe/Moscow".into(),
            })
            .to_vec();
        let id = write(&store, dir.path(), &r).unwrap().unwrap();
        let mut letters = store.due(5_000, 10).unwrap();
        letters.sort_by_key(|e| e.id);
        assert_eq!(letters.len(), 2);
        let letter: VoicemailLetter = serde_json::from_value(letters[0].payload.clone()).unwrap();
        assert_eq!(letters[0].kind, payload::VOICEMAIL);
        assert_eq!(
            (
                letter.message,
                letter.email.as_str(),
                letter.mailbox.as_str()
            ),
            (id, "anna@example.com", "department:sales")
        );
        assert_eq!(letter.file, format!("voicemail/acme/{id}.wav"));
        assert_eq!((letter.duration_ms, letter.received_ms), (100, 5_000));
        assert_eq!(letters[1].payload["email"], "boris@example.com");
        // Without recipients, nothing is enqueued.
        write(&store, dir.path(), &recording("staff:anna", 6_000, 10)).unwrap();
        assert_eq!(store.outbox(10).unwrap().len(), 2);
    }

    #[test]
    fn delete_removes_entry_and_file_of_its_own_tenant_only() {
        let (dir, store) = open();
        let id = write(&store, dir.path(), &recording("staff:anna", 1, 10))
            .unwrap()
            .unwrap();
        let path = dir.path().join(format!("voicemail/acme/{id}.wav"));
        assert!(path.exists());
        assert!(delete(&store, dir.path(), "other", id).unwrap().is_none());
        assert!(path.exists(), "another tenant cannot delete it");
        let removed = delete(&store, dir.path(), "acme", id).unwrap().unwrap();
        assert_eq!(removed.id, id);
        assert!(!path.exists());
        assert!(delete(&store, dir.path(), "acme", id).unwrap().is_none());
        // An entry whose file is already gone is deleted all the same.
        let id = write(&store, dir.path(), &recording("staff:anna", 2, 10))
            .unwrap()
            .unwrap();
        fs::remove_file(dir.path().join(format!("voicemail/acme/{id}.wav"))).unwrap();
        assert!(delete(&store, dir.path(), "acme", id).unwrap().is_some());
    }

    #[test]
    fn recordings_are_only_found_inside_the_data_directory() {
        let data = Path::new("/srv/pbx");
        let at = |file: &str| {
            recording_path(
                data,
                &Voicemail {
                    file: file.into(),
                    ..Voicemail::default()
                },
            )
        };
        assert_eq!(
            at("voicemail/acme/7.wav").unwrap(),
            Path::new("/srv/pbx/voicemail/acme/7.wav")
        );
        for bad in ["", "/etc/passwd", "../x.wav", "voicemail/../../x", "./x"] {
            assert!(matches!(at(bad), Err(VoicemailError::Path(_))), "{bad}");
        }
    }
}
