//! Starting a worker, or resuming a parked one, and answering its way to the entry.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use tokio::io::AsyncWriteExt;
use tokio::sync::{mpsc, watch};

use crate::error::{Error, ErrorKind};

use super::link::{self, io_error, line, next_line, ToParent, ToWorker, WORKER_VAR};
use super::park::Idle;
use super::process::Process;
use super::replies::{read_replies, Reader};
use super::stderr::Stderr;
use super::{Handle, Workers, RULE, START_TIMEOUT};

impl Workers {
    /// A worker for this entry: one the entry before parked, resumed, or else a new
    /// one. A parked worker that does not reach this entry is ended, and a new one
    /// started: it says why, if the test broke the rule.
    pub(super) async fn start(&self) -> Result<Handle, Error> {
        loop {
            let idle = self
                .adoptable
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .pop();
            let Some(idle) = idle else { break };
            let resumed = {
                use std::io::Write;
                (&*idle.link).write_all(line(&ToWorker::Resume).as_bytes())
            };
            if resumed.is_ok() {
                if let Ok(handle) = self.attach(idle).await {
                    return Ok(handle);
                }
            }
        }
        let idle = self.spawn()?;
        self.attach(idle).await
    }

    /// Starts a worker: this program again, filtered to the current test, in a
    /// process group of its own, its standard input the link. It is on its way to
    /// this entry, as a resumed one is.
    fn spawn(&self) -> Result<Idle, Error> {
        let (ours, theirs) = std::os::unix::net::UnixStream::pair().map_err(io_error)?;
        let mut command = self.command()?;
        // Its stdout (libtest's report of the test, when the worker's run of it
        // fails) and its stderr are read as one, bounded.
        let (output, output_writer) = std::io::pipe().map_err(io_error)?;
        command
            .stdin(Stdio::from(std::os::fd::OwnedFd::from(theirs)))
            .stdout(output_writer.try_clone().map_err(io_error)?)
            .stderr(output_writer);
        let child = command.spawn().map_err(|e| {
            Error::new(
                ErrorKind::Io,
                format!("cannot start an isolated worker ({command:?}): {e}"),
            )
        })?;
        // The command holds the worker's end of the link: the link ends only once
        // the worker's copy is the last.
        drop(command);
        let pid = child.id();
        let group = rustix::process::Pid::from_child(&child);
        let process = Arc::new(Process {
            child: Mutex::new(child),
            group,
        });
        // A dying message ends the worker at once: what it dies of is already said.
        let dying = Arc::downgrade(&process);
        let (stderr, output_done) = Stderr::read(output, move || {
            if let Some(process) = dying.upgrade() {
                let _ = rustix::process::kill_process_group(
                    process.group,
                    rustix::process::Signal::KILL,
                );
            }
        });
        Ok(Idle {
            pid,
            link: Arc::new(ours),
            process,
            stderr,
            output_done: Arc::new(Mutex::new(Some(output_done))),
            memory_cap: self.memory_cap,
        })
    }

    /// Answers a worker's way to this entry and hands it the cases.
    async fn attach(&self, idle: Idle) -> Result<Handle, Error> {
        let Idle {
            pid,
            link,
            process,
            stderr,
            output_done,
            memory_cap,
        } = idle;
        let token = link::token();
        let (read, mut write) = link::halves(&link)?;
        let mut read = tokio::io::BufReader::new(read);
        let reached = tokio::time::timeout(START_TIMEOUT, async {
            self.reach(&mut read, &mut write, &token, &stderr).await
        })
        .await;
        match reached {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                process.end();
                return Err(error);
            }
            Err(_) => {
                process.end();
                return Err(Error::new(
                    ErrorKind::Io,
                    format!(
                        "an isolated worker did not reach its campaign within {START_TIMEOUT:?} ({RULE}): {}",
                        stderr.text()
                    ),
                ));
            }
        }
        let (writer, mut outgoing) = mpsc::unbounded_channel::<String>();
        tokio::spawn(async move {
            while let Some(line) = outgoing.recv().await {
                if write.write_all(line.as_bytes()).await.is_err() {
                    return;
                }
            }
        });
        let (death_tx, death) = watch::channel(None);
        let (stop, stopped) = watch::channel(false);
        let (alive, reading) = std::sync::mpsc::channel();
        let handle = Handle {
            pid,
            writer,
            in_flight: Arc::default(),
            dead: Arc::default(),
            retired: Arc::default(),
            death,
            stderr,
            process,
            link,
            token: token.clone(),
            stop: Arc::new(stop),
            reading: Arc::new(Mutex::new(Some(reading))),
            output_done,
            memory_cap,
        };
        tokio::spawn(read_replies(
            handle.clone(),
            read,
            token,
            Reader { stopped, alive },
            death_tx,
        ));
        Ok(handle)
    }

    /// Answers the worker's way to this entry: the results of the entries before it,
    /// then this one to serve. An entry that is not the one the parent ran there is
    /// the rule broken, said as such.
    async fn reach(
        &self,
        read: &mut tokio::io::BufReader<tokio::net::UnixStream>,
        write: &mut tokio::net::UnixStream,
        token: &str,
        stderr: &Stderr,
    ) -> Result<(), Error> {
        loop {
            let bytes = next_line(read, link::LINE_CAP)
                .await
                .map_err(io_error)?
                .ok_or_else(|| {
                    Error::new(
                        ErrorKind::Config,
                        format!("an isolated worker ended before it reached {}: {RULE}; what it wrote to stderr:\n{}", self.key, stderr.text()),
                    )
                })?;
            let Ok(ToParent::Hello { entry, key }) = serde_json::from_slice::<ToParent>(&bytes)
            else {
                return Err(Error::new(
                    ErrorKind::Io,
                    format!(
                        "an isolated worker sent something other than its way to the campaign: {}",
                        String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
                    ),
                ));
            };
            let expected = if entry == self.entry {
                Some(self.key.as_str())
            } else {
                self.earlier.get(entry).map(|(key, _)| key.as_str())
            };
            if expected != Some(key.as_str()) {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!(
                        "the worker for `{}` reached `{key}` as isolated entry {} of its test, where this process ran {}: {RULE}",
                        self.key,
                        entry + 1,
                        expected.map_or("nothing".to_owned(), |k| format!("`{k}`"))
                    ),
                ));
            }
            let answer = if entry == self.entry {
                ToWorker::Serve {
                    token: token.to_owned(),
                }
            } else {
                ToWorker::Result {
                    json: self.earlier[entry].1.clone(),
                }
            };
            write
                .write_all(line(&answer).as_bytes())
                .await
                .map_err(io_error)?;
            if entry == self.entry {
                return Ok(());
            }
        }
    }

    /// This program again, as a worker for this entry.
    fn command(&self) -> Result<Command, Error> {
        use std::os::unix::process::CommandExt;
        let exe: PathBuf = std::env::current_exe().map_err(io_error)?;
        // This very program, even when its file was replaced since it started (a
        // `cargo test` rebuilt it in another terminal): the running image, by
        // `/proc/self/exe`, named as the program it is.
        let image = PathBuf::from("/proc/self/exe");
        let mut command = Command::new(if image.exists() { &image } else { &exe });
        command.arg0(&exe);
        command
            .args(&self.args)
            .env(WORKER_VAR, "1")
            .env(link::ENTRY_VAR, self.entry.to_string())
            .env(link::MEMORY_VAR, self.memory_cap.to_string())
            // A dying worker must not spend its last seconds symbolising a backtrace
            // (a crash was once reported as a hang so); its panics are caught anyway.
            .env("RUST_BACKTRACE", "0")
            .process_group(0);
        Ok(command)
    }
}
