//! Drives the real REPL in a terminal (tmux): completion, highlighting, the progress
//! line, Ctrl-C cancelling a query without ending the session, history on disk.
//! `.ci/run` installs tmux; without it these tests fail and say so.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

struct Terminal {
    name: String,
    _home: tempfile::TempDir,
    home: std::path::PathBuf,
}

/// Each terminal has a tmux server of its own (`-L`), so tests run in parallel.
fn tmux(socket: &str, args: &[&str]) -> String {
    let output = Command::new("tmux")
        .args(["-L", socket])
        .args(args)
        .output()
        .expect("tmux runs (apt-get install tmux)");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

impl Terminal {
    fn start(name: &str, extra_env: &[(&str, &str)], args: &[&str]) -> Self {
        let home = tempfile::tempdir().unwrap();
        let name = format!("trailsql-test-{name}-{}", std::process::id());
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut command = format!(
            "cd {} && env -u NO_COLOR HOME={} XDG_DATA_HOME={}/data TERM=xterm-256color PAGER=cat",
            root.display(),
            home.path().display(),
            home.path().display()
        );
        for (key, value) in extra_env {
            command.push_str(&format!(" {key}={value}"));
        }
        command.push_str(&format!(" {}", env!("CARGO_BIN_EXE_trailsql")));
        for arg in args {
            command.push_str(&format!(" {arg}"));
        }
        // Keep the pane after exit so a crash can be read.
        command.push_str("; sleep 30");
        let status = Command::new("tmux")
            .args([
                "-L",
                &name,
                "new-session",
                "-d",
                "-s",
                &name,
                "-x",
                "150",
                "-y",
                "45",
                &command,
            ])
            .status()
            .expect("tmux runs (apt-get install tmux)");
        assert!(status.success());
        let terminal = Terminal {
            name,
            home: home.path().to_path_buf(),
            _home: home,
        };
        terminal.wait_for("trailsql>", Duration::from_secs(20));
        terminal
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", &self.name];
        args.extend(keys);
        tmux(&self.name, &args);
    }

    fn type_text(&self, text: &str) {
        // tmux reads an argument ending in `;` as a command separator unless escaped.
        let text = match text.strip_suffix(';') {
            Some(head) => format!("{head}\\;"),
            None => text.to_string(),
        };
        tmux(&self.name, &["send-keys", "-t", &self.name, "-l", &text]);
    }

    fn screen(&self) -> String {
        tmux(&self.name, &["capture-pane", "-p", "-t", &self.name])
    }

    fn screen_with_colours(&self) -> String {
        tmux(&self.name, &["capture-pane", "-p", "-e", "-t", &self.name])
    }

    fn wait_for(&self, text: &str, timeout: Duration) -> String {
        let started = Instant::now();
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(
                started.elapsed() < timeout,
                "waited {timeout:?} for {text:?}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        tmux(&self.name, &["kill-server"]);
    }
}

const WAIT: Duration = Duration::from_secs(20);

#[test]
fn tab_completes_columns_values_and_meta_commands() {
    let t = Terminal::start("complete", &[], &[]);
    t.type_text("SELECT eventn");
    t.keys(&["Tab"]);
    t.wait_for("SELECT eventname", WAIT);
    t.type_text(", userIdentity.sessionContext.sessionIss");
    t.keys(&["Tab"]);
    t.wait_for("useridentity.sessioncontext.sessionissuer.", WAIT);
    t.keys(&["C-u"]);
    t.type_text("SELECT count(*) FROM cloudtrail WHERE eventname = 'DeleteStr");
    t.keys(&["Tab"]);
    t.wait_for("= 'DeleteStream'", WAIT);
    t.type_text(";");
    t.keys(&["Enter"]);
    t.wait_for("1 row(s)", WAIT);
    t.type_text(".sch");
    t.keys(&["Tab"]);
    t.wait_for("trailsql> .schema", WAIT);
}

#[test]
fn sql_is_highlighted_on_a_colour_terminal_and_not_with_no_color() {
    let t = Terminal::start("colour", &[], &[]);
    t.type_text("SELECT 'x' FROM cloudtrail");
    t.wait_for("SELECT 'x' FROM cloudtrail", WAIT);
    let coloured = t.screen_with_colours();
    let prompt_line = coloured.lines().find(|l| l.contains("FROM")).unwrap();
    assert!(prompt_line.contains('\x1b'), "no colour in {prompt_line:?}");

    let plain = Terminal::start("nocolour", &[("NO_COLOR", "1")], &[]);
    plain.type_text("SELECT 'x' FROM cloudtrail");
    plain.wait_for("SELECT 'x' FROM cloudtrail", WAIT);
    let screen = plain.screen_with_colours();
    let prompt_line = screen.lines().find(|l| l.contains("FROM")).unwrap();
    assert!(
        !prompt_line.contains("\x1b[1;34m") && !prompt_line.contains("\x1b[34m"),
        "{prompt_line:?}"
    );
}

#[test]
fn ctrl_c_cancels_a_long_query_and_the_session_goes_on() {
    let t = Terminal::start("cancel", &[], &[]);
    t.type_text("SELECT count(*) FROM cloudtrail a, cloudtrail b, cloudtrail c, cloudtrail d;");
    t.keys(&["Enter"]);
    // The progress line appears after half a second of work.
    t.wait_for("(Ctrl-C cancels)", WAIT);
    t.keys(&["C-c"]);
    t.wait_for("Error: cancelled after", WAIT);
    t.type_text("SELECT 40 + 2 AS answer;");
    t.keys(&["Enter"]);
    let screen = t.wait_for("| 42     |", WAIT);
    assert!(
        !screen.contains("(Ctrl-C cancels)"),
        "the progress line was left:\n{screen}"
    );
}

#[test]
fn parse_errors_are_shown_with_their_position_and_not_run() {
    let t = Terminal::start("parse", &[], &[]);
    t.type_text("SELEC eventname FROM cloudtrail;");
    t.keys(&["Enter"]);
    t.wait_for("Line: 1, Column: 1", WAIT);
    // Still editing the same statement: fix it and run.
    t.keys(&["Home"]);
    t.keys(&["C-k"]);
    t.type_text("SELECT 7 AS seven;");
    t.keys(&["Enter"]);
    t.wait_for("| 7     |", WAIT);
}

#[test]
fn history_is_kept_in_the_data_directory() {
    let t = Terminal::start("history", &[], &[]);
    t.type_text("SELECT 'remember me' AS m;");
    t.keys(&["Enter"]);
    t.wait_for("remember me", WAIT);
    let history = t.home.join("data/trailsql/history");
    let started = Instant::now();
    while !std::fs::read_to_string(&history)
        .unwrap_or_default()
        .contains("remember me")
    {
        assert!(
            started.elapsed() < WAIT,
            "no history at {}",
            history.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_prompt_is_ready_quickly_on_the_sample() {
    let started = Instant::now();
    let t = Terminal::start("startup", &[], &[]);
    let screen = t.screen();
    let line = screen.lines().find(|l| l.contains("ready in")).unwrap();
    eprintln!(
        "{line} (tmux and process start included: {:?})",
        started.elapsed()
    );
}

#[test]
fn tall_results_go_through_the_pager_and_wide_cells_are_cut() {
    let t = Terminal::start("pager", &[("PAGER", "'sed s/^/paged:/'")], &[]);
    t.type_text("SELECT eventname FROM cloudtrail;");
    t.keys(&["Enter"]);
    t.wait_for("paged:| ", WAIT);
    t.wait_for("100 shown; .maxrows to change", WAIT);

    let t = Terminal::start("width", &[], &[]);
    t.type_text("SELECT eventid, useridentity, repeat('x', 400) AS wide FROM cloudtrail LIMIT 3;");
    t.keys(&["Enter"]);
    let screen = t.wait_for("3 row(s)", WAIT);
    let table: Vec<&str> = screen.lines().filter(|l| l.starts_with('|')).collect();
    assert!(!table.is_empty(), "{screen}");
    for line in &table {
        assert!(
            line.chars().count() <= 150,
            "wider than the terminal: {line}"
        );
    }
    assert!(
        table.iter().any(|l| l.contains('…')),
        "no cut cell:\n{screen}"
    );
}
