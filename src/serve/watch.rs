//! Watching the config: editors save by writing a new file and renaming it over the old one, so
//! the directories holding the config files (the main file's and those of included tenant
//! files) are watched, not the files; events are debounced, and only changes to config and
//! audio files — outside the data directory — ask for a reload. The directories are not watched
//! recursively, so a build tree or the data directory beside the config costs nothing.

use super::Control;
use notify_debouncer_full::notify::{EventKind, RecursiveMode};
use notify_debouncer_full::{new_debouncer, DebounceEventResult, Debouncer, RecommendedCache};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::mpsc;

/// How long the directory must be quiet before a change is reported.
const DEBOUNCE: Duration = Duration::from_millis(250);

/// Keeps the watch alive while held.
pub struct Watch {
    _debouncer: Debouncer<notify_debouncer_full::notify::RecommendedWatcher, RecommendedCache>,
}

/// Starts watching `dirs`, ignoring everything under `data_dir`; each relevant change sends
/// `Control::Reload` from the watcher.
pub fn watch(
    dirs: &[PathBuf],
    data_dir: &Path,
    tx: mpsc::Sender<Control>,
) -> Result<Watch, String> {
    let data_dir = data_dir
        .canonicalize()
        .unwrap_or_else(|_| data_dir.to_path_buf());
    let mut debouncer = new_debouncer(DEBOUNCE, None, move |result: DebounceEventResult| {
        let Ok(events) = result else { return };
        let relevant = events
            .iter()
            .filter(|e| changes(&e.kind))
            .flat_map(|e| e.paths.iter())
            .any(|p| relevant(p, &data_dir));
        if relevant {
            // A reload already queued covers this change too.
            let _ = tx.try_send(Control::Reload(super::applier::Source::Watcher));
        }
    })
    .map_err(|e| format!("cannot watch the config: {e}"))?;
    for dir in dirs {
        debouncer
            .watch(dir, RecursiveMode::NonRecursive)
            .map_err(|e| format!("cannot watch {}: {e}", dir.display()))?;
    }
    Ok(Watch {
        _debouncer: debouncer,
    })
}

/// Whether an event says a file changed: reading one (opening, closing without writing, as
/// every reload does) is no change — reacting to it reloaded four times a second, forever.
fn changes(kind: &EventKind) -> bool {
    !matches!(kind, EventKind::Access(_) | EventKind::Other)
}

fn relevant(path: &Path, data_dir: &PathBuf) -> bool {
    if path.starts_with(data_dir) {
        return false;
    }
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml" | "wav")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify_debouncer_full::notify::event::{
        AccessKind, AccessMode, CreateKind, DataChange, ModifyKind, RenameMode,
    };

    #[test]
    fn reading_the_config_is_no_change_and_writing_or_renaming_it_is() {
        assert!(!changes(&EventKind::Access(AccessKind::Open(
            AccessMode::Read
        ))));
        assert!(!changes(&EventKind::Access(AccessKind::Close(
            AccessMode::Read
        ))));
        assert!(changes(&EventKind::Modify(ModifyKind::Data(
            DataChange::Any
        ))));
        assert!(changes(&EventKind::Modify(ModifyKind::Name(
            RenameMode::To
        ))));
        // Writing shows as Modify events; the close after it adds nothing.
        assert!(!changes(&EventKind::Access(AccessKind::Close(
            AccessMode::Write
        ))));
        assert!(changes(&EventKind::Create(CreateKind::File)));
        let data = PathBuf::from("/srv/pbx/data");
        assert!(relevant(Path::new("/srv/pbx/pbx.yaml"), &data));
        assert!(!relevant(Path::new("/srv/pbx/data/db"), &data));
        assert!(!relevant(Path::new("/srv/pbx/pbx.yaml.swp"), &data));
    }
}
