//! The one table of the UI's keys. Key handling ([`super::App::handle_key`]), the footer, the
//! help overlay, `--help`'s key list and the manual pages are all read from [`KEYMAP`], so
//! they cannot disagree.

use crossterm::event::KeyCode;

use crate::engines::Caps;

/// What a key does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Act {
    /// Quit and print the report.
    Quit,
    /// Open the help overlay.
    Help,
    /// Scroll the event log back.
    LogBack,
    /// Scroll the event log forward.
    LogForward,
    /// Follow the newest log line again.
    LogNewest,
    /// Pause or resume.
    Pause,
    /// Step one event.
    Step,
    /// Type a time to pause at.
    PauseAt,
    /// Type a speed.
    TypeSpeed,
    /// Seek 5 s back.
    SeekBack,
    /// Seek 5 s forward.
    SeekForward,
    /// Seek 1 s back.
    SeekBackSecond,
    /// Seek 1 s forward.
    SeekForwardSecond,
    /// Type a time to go to.
    GoTo,
    /// One speed step faster.
    Faster,
    /// One speed step slower.
    Slower,
    /// Select the worker above.
    SelectUp,
    /// Select the worker below.
    SelectDown,
    /// Crash the selected worker.
    Crash,
    /// Repair the selected worker.
    Repair,
    /// Slow the selected worker down 10x, or back.
    Slow,
    /// The selected worker's error rate +10%.
    MoreErrors,
    /// The selected worker's error rate -10%.
    FewerErrors,
    /// Retries on or off.
    Retries,
    /// Arrival rate -10%.
    RateDown,
    /// Arrival rate +10%.
    RateUp,
    /// The next strategy (run view).
    Strategy,
    /// Restart with the same seed.
    Restart,
    /// Mark a window of time.
    Mark,
    /// The chart over time or the histogram.
    Chart,
    /// Histograms of the whole run or the last 5 s.
    Recent,
    /// Focus the next pane: it fills the screen.
    FocusNext,
    /// Focus the previous pane.
    FocusPrev,
    /// Stop a seek under way, else leave a focused pane for all of them, else quit.
    Back,
}

/// When a key applies: the footer shows only the keys that do something in this view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Needs {
    /// Always.
    Always,
    /// `lbsim run` (one strategy).
    RunView,
    /// A run whose speed can be chosen ([`Caps::paced`]).
    Paced,
    /// A run that can be stepped ([`Caps::steppable`]).
    Steppable,
    /// A run that can go back in time ([`Caps::seekable`]).
    Seekable,
}

impl Needs {
    /// Whether the key applies to runs that can do `caps`, in the run view (`run`) or not.
    pub fn met(self, caps: Caps, run: bool) -> bool {
        match self {
            Needs::Always => true,
            Needs::RunView => run,
            Needs::Paced => caps.paced,
            Needs::Steppable => caps.steppable,
            Needs::Seekable => caps.seekable,
        }
    }
}

/// A key press as the table knows it: a code, with Ctrl or without.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key {
    /// The key.
    pub code: KeyCode,
    /// With Ctrl held.
    pub ctrl: bool,
}

const fn key(c: char) -> Key {
    Key { code: KeyCode::Char(c), ctrl: false }
}

const fn code(code: KeyCode) -> Key {
    Key { code, ctrl: false }
}

/// One row of the help: the keys as shown, what they do, and each key's action.
#[derive(Clone, Copy, Debug)]
pub struct Binding {
    /// The keys as the help shows them.
    pub label: &'static str,
    /// What they do, for the help overlay and `--help`.
    pub help: &'static str,
    /// The footer's words and their rank there (most important first), if shown there.
    pub footer: Option<(u8, &'static str)>,
    /// When it applies.
    pub needs: Needs,
    /// Each key and what it does.
    pub keys: &'static [(Key, Act)],
}

/// Every key of the UI, in the order of the help.
pub const KEYMAP: &[Binding] = &[
    Binding {
        label: "space",
        help: "pause / resume",
        footer: Some((0, "space pause")),
        needs: Needs::Always,
        keys: &[(key(' '), Act::Pause)],
    },
    Binding {
        label: "n",
        help: "step one event: which worker got it, and why",
        footer: Some((1, "n step")),
        needs: Needs::Steppable,
        keys: &[(key('n'), Act::Step)],
    },
    Binding {
        label: "+ / -",
        help: "faster / slower (virtual s per real s)",
        footer: Some((2, "+/- speed")),
        needs: Needs::Paced,
        keys: &[
            (key('+'), Act::Faster),
            (key('='), Act::Faster),
            (key('-'), Act::Slower),
            (key('_'), Act::Slower),
        ],
    },
    Binding {
        label: "← / →",
        help: "seek 5s back / forward ({ } 1s): re-simulated, exact",
        footer: Some((3, "←→ seek")),
        needs: Needs::Seekable,
        keys: &[
            (code(KeyCode::Left), Act::SeekBack),
            (code(KeyCode::Right), Act::SeekForward),
            (key('{'), Act::SeekBackSecond),
            (key('}'), Act::SeekForwardSecond),
        ],
    },
    Binding {
        label: "g",
        help: "go to a typed time (e.g. 12s), back or forward, exact",
        footer: Some((5, "g go to")),
        needs: Needs::Seekable,
        keys: &[(key('g'), Act::GoTo)],
    },
    Binding {
        label: "x",
        help: "type a speed (e.g. 50, 0.25, 1/8)",
        footer: Some((6, "x set speed")),
        needs: Needs::Paced,
        keys: &[(key('x'), Act::TypeSpeed)],
    },
    Binding {
        label: "p",
        help: "type a time to pause at (e.g. 19.5s)",
        footer: Some((4, "p pause at")),
        needs: Needs::Always,
        keys: &[(key('p'), Act::PauseAt)],
    },
    Binding {
        label: "PgUp PgDn",
        help: "scroll the event log (End: newest)",
        footer: Some((18, "PgUp/PgDn log")),
        needs: Needs::Always,
        keys: &[
            (code(KeyCode::PageUp), Act::LogBack),
            (code(KeyCode::PageDown), Act::LogForward),
            (code(KeyCode::End), Act::LogNewest),
        ],
    },
    Binding {
        label: "↑ / ↓",
        help: "select a worker",
        footer: Some((7, "↑↓ worker")),
        needs: Needs::Always,
        keys: &[
            (code(KeyCode::Up), Act::SelectUp),
            (key('K'), Act::SelectUp),
            (code(KeyCode::Down), Act::SelectDown),
            (key('J'), Act::SelectDown),
        ],
    },
    Binding {
        label: "k / r",
        help: "crash / repair it",
        footer: Some((8, "k/r crash/repair")),
        needs: Needs::Always,
        keys: &[(key('k'), Act::Crash), (key('r'), Act::Repair)],
    },
    Binding {
        label: "w",
        help: "slow it down 10x / back to normal",
        footer: Some((9, "w slow")),
        needs: Needs::Always,
        keys: &[(key('w'), Act::Slow)],
    },
    Binding {
        label: "e / E",
        help: "its error rate +10% / -10%",
        footer: Some((10, "e/E errors")),
        needs: Needs::Always,
        keys: &[(key('e'), Act::MoreErrors), (key('E'), Act::FewerErrors)],
    },
    Binding {
        label: "t",
        help: "retries on / off",
        footer: Some((11, "t retries")),
        needs: Needs::Always,
        keys: &[(key('t'), Act::Retries)],
    },
    Binding {
        label: "[ / ]",
        help: "arrival rate -10% / +10%",
        footer: Some((12, "[ ] rate")),
        needs: Needs::Always,
        keys: &[(key('['), Act::RateDown), (key(']'), Act::RateUp)],
    },
    Binding {
        label: "s",
        help: "next strategy (run view)",
        footer: Some((13, "s strategy")),
        needs: Needs::RunView,
        keys: &[(key('s'), Act::Strategy)],
    },
    Binding {
        label: "h",
        help: "histograms: whole run / last 5s",
        footer: Some((14, "h histogram")),
        needs: Needs::Always,
        keys: &[(key('h'), Act::Recent)],
    },
    Binding {
        label: "o",
        help: "latency and throughput over time / histogram",
        footer: Some((15, "o over time")),
        needs: Needs::Always,
        keys: &[(key('o'), Act::Chart)],
    },
    Binding {
        label: "m",
        help: "mark a window's start, its end (histograms show it), clear",
        footer: Some((16, "m mark window")),
        needs: Needs::Always,
        keys: &[(key('m'), Act::Mark)],
    },
    Binding {
        label: "Tab S-Tab",
        help: "focus the next / previous pane: it fills the screen (Esc: all panes)",
        footer: Some((19, "Tab focus")),
        needs: Needs::Always,
        keys: &[(code(KeyCode::Tab), Act::FocusNext), (code(KeyCode::BackTab), Act::FocusPrev)],
    },
    Binding {
        label: "R",
        help: "restart with the same seed",
        footer: Some((17, "R restart")),
        needs: Needs::Always,
        keys: &[(key('R'), Act::Restart)],
    },
    Binding {
        label: "?",
        help: "this help (↑↓ scroll it, any other key closes it)",
        footer: Some((LAST, "? help · q quit")),
        needs: Needs::Always,
        keys: &[(key('?'), Act::Help)],
    },
    Binding {
        label: "q Esc ^C",
        help: "quit and print the report (Esc first stops a seek under way, then leaves a focused pane)",
        footer: None,
        needs: Needs::Always,
        keys: &[
            (key('q'), Act::Quit),
            (code(KeyCode::Esc), Act::Back),
            (Key { code: KeyCode::Char('c'), ctrl: true }, Act::Quit),
        ],
    },
];

/// What the mouse does, for the help overlay and `--help`.
pub const MOUSE: &str = "mouse: click a worker's bar to select it, a pane to focus it (it fills the screen; \
                         click it again for all panes), the timeline strip in the header to go to that \
                         time; drag across the chart over time (o) to mark the window it spans; the \
                         wheel scrolls the log or this help";

/// The footer rank of the entry always shown last.
const LAST: u8 = u8::MAX;

/// What `key` does, if anything.
pub fn act(key: Key) -> Option<Act> {
    KEYMAP.iter().flat_map(|b| b.keys).find(|(k, _)| *k == key).map(|&(_, act)| act)
}

/// The footer: the keys that do something in this view, most important first, as many as
/// fit in `width` columns, and always the last one (help and quit).
pub fn footer(caps: Caps, run: bool, width: u16) -> String {
    let mut shown: Vec<(u8, &str)> =
        KEYMAP.iter().filter(|b| b.needs.met(caps, run)).filter_map(|b| b.footer).collect();
    shown.sort_by_key(|&(rank, _)| rank);
    let Some((_, last)) = shown.pop() else { return String::new() };
    let mut text = String::from(" ");
    for (_, words) in shown {
        if crate::text::width(&text) + crate::text::width(words) + 3 + crate::text::width(last)
            > width as usize
        {
            break;
        }
        text += words;
        text += " · ";
    }
    text + last
}

/// The keys in one paragraph, for `--help` and the manual pages.
pub fn help_text() -> String {
    let rows: Vec<String> = KEYMAP.iter().map(|b| format!("{} {}", b.label, b.help)).collect();
    format!(
        "Keys in the terminal UI of run and compare (the live engine can be neither stepped, sped \
         up nor sought): {}; {MOUSE}. The report lists every change made with keys.",
        rows.join("; ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_does_one_thing() {
        let keys: Vec<Key> = KEYMAP.iter().flat_map(|b| b.keys).map(|&(k, _)| k).collect();
        for (i, k) in keys.iter().enumerate() {
            assert!(!keys[i + 1..].contains(k), "{k:?} is bound twice");
        }
    }

    #[test]
    fn the_footer_ranks_are_distinct_and_the_last_is_help() {
        let mut ranks: Vec<u8> = KEYMAP.iter().filter_map(|b| b.footer).map(|(r, _)| r).collect();
        ranks.sort();
        ranks.dedup();
        assert_eq!(ranks.len(), KEYMAP.iter().filter(|b| b.footer.is_some()).count());
        let all = Caps { paced: true, steppable: true, seekable: true, concurrent: true };
        assert!(footer(all, true, 400).ends_with("? help · q quit"));
    }
}
