//! Inspector state: a plain struct updated by store events, keys and the mouse. No terminal,
//! no I/O: whatever needs the disk comes back to the loop as an [`Action`]. Filtering goes
//! through the flat [`Columns`] and the [`Recent`] results (a keystroke at a million captures
//! stays within a frame), and what the detail pane shows is derived once per selection, never
//! per frame.

use std::cell::Cell;
use std::sync::Arc;

use ratatui::crossterm::event::{
    KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};

use super::columns::{Columns, Recent};
use super::keys::{Command, command_for};
use super::mouse::{Hits, Spot};
use crate::envelope::ShapeReport;
use crate::filter::Filter;
use crate::model::capture::CaptureId;
use crate::model::exchange::{BodyDigest, Exchange};
use crate::model::record::{CaptureRecord, Event, Summary};
use crate::model::secret::Secret;
use crate::verify::Outcome;

/// Detail tabs, in key order (1-5).
pub const TABS: [&str; 5] = ["Overview", "Headers", "Body", "Shape", "Forward"];

/// Lines the wheel scrolls the detail by.
const WHEEL_LINES: u16 = 3;

/// What the header bar shows about the running listener.
#[derive(Clone, Debug, Default)]
pub struct HeaderInfo {
    /// `http://127.0.0.1:8787`, `https://…`.
    pub addresses: Vec<String>,
    /// Where deliveries are forwarded, with the path rule as an example
    /// (`forwarding POST /hook → http://…/hook`), when forwarding.
    pub forward: Option<String>,
    /// The secrets' fingerprints (first 8 hex of SHA-256), in order: never any of their
    /// characters. Build it with [`HeaderInfo::fingerprints`].
    pub secrets: Vec<String>,
    /// Scheme in use.
    pub scheme: String,
    /// Timestamp tolerance.
    pub tolerance_secs: i64,
}

impl HeaderInfo {
    /// The header's view of the secrets: fingerprints only.
    pub fn fingerprints(secrets: &[Secret]) -> Vec<String> {
        secrets.iter().map(|s| s.fingerprint().into()).collect()
    }
}

/// Which pane has the keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Focus {
    /// The request list.
    List,
    /// The detail pane.
    Detail,
}

/// Work for the loop (it needs the store or the terminal).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Leave the inspector.
    Quit,
    /// Read this capture for the detail pane.
    Load(CaptureId),
    /// Build a curl command for this capture and copy it.
    CopyCurl(CaptureId),
    /// Diff the second capture against the first (the mark).
    Diff(CaptureId, CaptureId),
    /// Replay this capture to the forward target (re-signed when true).
    Replay(CaptureId, bool),
    /// Edit this capture's body in the editor, then replay it re-signed.
    EditReplay(CaptureId),
}

/// What an overlay holds, which decides how it is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OverlayKind {
    /// A diff: `+` lines green, `-` lines red.
    Diff,
    /// Plain text, wrapped (the curl command).
    Text,
}

/// A full-screen text overlay (diff, copied curl command).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Overlay {
    /// Title line.
    pub title: String,
    /// Body (already terminal-safe).
    pub text: String,
    /// Scroll position.
    pub scroll: u16,
    /// How it is drawn.
    pub kind: OverlayKind,
}

/// What is derived from the selected capture once, when it is loaded.
pub struct Detail {
    /// The record.
    pub record: Arc<CaptureRecord>,
    /// The body, rendered (pretty JSON, text or hex dump), one entry per line.
    pub body_lines: Vec<String>,
    /// The body's SHA-256.
    pub digest: String,
    /// The delivery shape report.
    pub shape: ShapeReport,
    /// Row positions of the captures of the same job (key or `data.id`), oldest first.
    pub timeline: Vec<usize>,
}

/// The inspector's whole state.
pub struct App {
    /// Listener facts for the header bar.
    pub header: HeaderInfo,
    rows: Vec<Summary>,
    /// The rows' filterable fields, for whole-log filters.
    columns: Columns,
    /// The last few filters' results.
    recent: Recent,
    /// Positions in `rows` shown in the list (filter and clear applied).
    view: Vec<u32>,
    /// Position in `view`.
    selected: Option<usize>,
    /// The capture the detail pane is for (loaded or being loaded).
    shown: Option<CaptureId>,
    /// First visible list position (kept by the renderer).
    pub list_offset: Cell<usize>,
    /// Where the last frame put the panes (kept by the renderer, read by the mouse).
    pub hits: Cell<Hits>,
    /// Keep the newest capture selected.
    pub follow: bool,
    /// Pane with the keys.
    pub focus: Focus,
    /// Detail tab index.
    pub tab: usize,
    /// Detail scroll.
    pub scroll: u16,
    filter: Filter,
    /// The filter being typed, when the filter line is open.
    pub filter_input: Option<String>,
    /// Help overlay open.
    pub help: bool,
    /// Capture marked for diffing.
    pub mark: Option<CaptureId>,
    /// Diff or curl overlay.
    pub overlay: Option<Overlay>,
    /// One-line status message.
    pub status: Option<String>,
    /// The selected capture, loaded, with what the tabs show of it.
    pub detail: Option<Detail>,
    /// Captures with ids up to this are hidden (`c`).
    hidden_through: u64,
    valid: usize,
    rejected: usize,
    /// Wall clock for skew/countdown text; the loop updates it, tests fix it.
    pub now_ms: i64,
    /// Use colors (see `front::color`).
    pub color: bool,
    /// Forwards and replays of the selected capture, oldest first.
    pub exchanges: Vec<Arc<Exchange>>,
}

impl App {
    /// An empty inspector.
    pub fn new(header: HeaderInfo, now_ms: i64) -> App {
        App {
            header,
            rows: Vec::new(),
            columns: Columns::default(),
            recent: Recent::default(),
            view: Vec::new(),
            selected: None,
            shown: None,
            list_offset: Cell::new(0),
            hits: Cell::new(Hits::default()),
            follow: true,
            focus: Focus::List,
            tab: 0,
            scroll: 0,
            filter: Filter::default(),
            filter_input: None,
            help: false,
            mark: None,
            overlay: None,
            status: None,
            detail: None,
            hidden_through: 0,
            valid: 0,
            rejected: 0,
            now_ms,
            color: true,
            exchanges: Vec::new(),
        }
    }

    /// Loads what the log already holds; selects the newest.
    pub fn load_rows(&mut self, rows: Vec<Summary>) -> Option<Action> {
        self.rows = rows;
        self.columns = Columns::of(&self.rows);
        self.recent.clear();
        self.valid = self
            .rows
            .iter()
            .filter(|r| r.outcome == Outcome::Valid)
            .count();
        self.rejected = self.rows.iter().filter(|r| r.outcome.is_rejected()).count();
        self.rebuild_view();
        self.select(self.view.len().checked_sub(1))
    }

    /// All rows (including hidden ones).
    pub fn rows(&self) -> &[Summary] {
        &self.rows
    }

    /// Number of rows in the list.
    pub fn visible_len(&self) -> usize {
        self.view.len()
    }

    /// The row at a list position.
    pub fn visible_row(&self, pos: usize) -> Option<&Summary> {
        self.view.get(pos).map(|&i| &self.rows[i as usize])
    }

    /// List position of the selection.
    pub fn selected_pos(&self) -> Option<usize> {
        self.selected
    }

    /// The selected row.
    pub fn selected_row(&self) -> Option<&Summary> {
        self.selected.and_then(|p| self.visible_row(p))
    }

    /// Counts for the header bar: (total, valid, rejected).
    pub fn counts(&self) -> (usize, usize, usize) {
        (self.rows.len(), self.valid, self.rejected)
    }

    /// The active filter text.
    pub fn filter_text(&self) -> &str {
        self.filter.source()
    }

    /// True when `c` hid captures from the view.
    pub fn view_cleared(&self) -> bool {
        self.hidden_through > 0
    }

    /// Heap bytes of the inspector's filter index: the columns, the list's positions and the
    /// kept filter results (beside its copy of the rows).
    pub fn columns_heap_bytes(&self) -> usize {
        self.columns.heap_bytes()
            + self.view.capacity() * std::mem::size_of::<u32>()
            + self.recent.heap_bytes()
    }

    /// The rows of the selected capture's job timeline, oldest first.
    pub fn timeline(&self) -> impl Iterator<Item = &Summary> {
        self.detail
            .iter()
            .flat_map(|d| d.timeline.iter().map(|&p| &self.rows[p]))
    }

    fn passes(&self, row: &Summary) -> bool {
        row.id.0 > self.hidden_through && self.filter.matches(row, None)
    }

    /// Rebuilds the list from the columns; the selection stays on its capture when that one
    /// still passes, else it moves to the newest. The caller then calls [`App::select`] with
    /// `self.selected`, which loads the detail if the capture changed.
    fn rebuild_view(&mut self) {
        let keep = self.selected_row().map(|r| r.id);
        let first = self.rows.partition_point(|r| r.id.0 <= self.hidden_through);
        self.view.clear();
        if self.filter.is_empty() {
            self.view.extend(first as u32..self.rows.len() as u32);
        } else {
            let pass = self
                .recent
                .matching(&self.filter, &self.columns, &self.rows);
            pass.extend_from(first, &mut self.view);
        }
        self.selected = match keep {
            Some(id) => self
                .view
                .binary_search_by_key(&id, |&i| self.rows[i as usize].id)
                .ok()
                .or(self.view.len().checked_sub(1)),
            None => self.view.len().checked_sub(1),
        };
        self.list_offset.set(0);
    }

    /// Shows or hides row `pos` after its status changed; the selection stays on its capture,
    /// or moves to the next one shown when this one left the list.
    fn refilter(&mut self, pos: usize) -> Option<Action> {
        let shown = self.passes(&self.rows[pos]);
        let sel = self.selected;
        match (self.view.binary_search(&(pos as u32)), shown) {
            (Ok(at), false) => {
                self.view.remove(at);
                let last = self.view.len().checked_sub(1);
                let sel = sel.map(|s| if at < s { s - 1 } else { s });
                self.select(sel.and_then(|s| last.map(|l| s.min(l))))
            }
            (Err(at), true) => {
                self.view.insert(at, pos as u32);
                self.selected = sel.map(|s| if at <= s { s + 1 } else { s });
                if self.selected.is_none() || (self.follow && at + 1 == self.view.len()) {
                    return self.select(Some(at));
                }
                None
            }
            _ => None,
        }
    }

    /// Selects a list position; when that is another capture than the detail pane's, the
    /// pane empties and the loop is asked to load the new one.
    fn select(&mut self, pos: Option<usize>) -> Option<Action> {
        self.selected = pos.filter(|p| *p < self.view.len());
        let after = self.selected_row().map(|r| r.id);
        if after != self.shown {
            self.scroll = 0;
            self.detail = None;
            self.exchanges.clear();
            self.shown = after;
            after.map(Action::Load)
        } else {
            None
        }
    }

    /// Installs a loaded capture if it is still the selected one, deriving once what the
    /// tabs show of it (body lines, digest, shape report, job timeline).
    pub fn set_detail(&mut self, record: Arc<CaptureRecord>, exchanges: Vec<Arc<Exchange>>) {
        let Some(row) = self.selected_row() else {
            return;
        };
        if row.id != record.capture.id {
            return;
        }
        let timeline = self.columns.same_job(row, &self.rows);
        let c = &record.capture;
        self.exchanges = exchanges;
        self.detail = Some(Detail {
            body_lines: crate::front::show::render_body(&c.body)
                .lines()
                .map(str::to_owned)
                .collect(),
            digest: BodyDigest::of(&c.body).sha256,
            shape: crate::envelope::shape_report(&c.method, &c.headers, &c.body),
            timeline,
            record,
        });
    }

    /// Applies a store event.
    pub fn apply(&mut self, event: &Event) -> Option<Action> {
        match event {
            Event::Captured(stored) => {
                let row = stored.summary.clone();
                match row.outcome {
                    Outcome::Valid => self.valid += 1,
                    o if o.is_rejected() => self.rejected += 1,
                    _ => {}
                }
                let shown = self.passes(&row);
                let pos = self.rows.len();
                self.columns.push(&row);
                // A new capture of the shown job joins its timeline.
                if let Some(d) = self.detail.as_mut() {
                    let same = |a: Option<&str>, b: Option<&str>| a.is_some() && a == b;
                    let sel = &d.record;
                    if same(
                        row.idempotency_key.as_deref(),
                        sel.idempotency_key.as_deref(),
                    ) || same(row.data_id.as_deref(), sel.data_id.as_deref())
                    {
                        d.timeline.push(pos);
                    }
                }
                self.rows.push(row);
                if shown {
                    self.view.push(pos as u32);
                    if self.follow || self.selected.is_none() {
                        return self.select(Some(self.view.len() - 1));
                    }
                }
                None
            }
            Event::Forwarded(exchange) => {
                let id = exchange.capture;
                let mut action = None;
                if let Ok(pos) = self.rows.binary_search_by_key(&id, |r| r.id) {
                    let before = self.rows[pos].response_status;
                    self.rows[pos].note_exchange(exchange);
                    if self.rows[pos].response_status != before {
                        self.columns.set_status(pos, self.rows[pos].response_status);
                        // Kept results may hold the old status; a `status:` filter may now
                        // show or hide this row.
                        self.recent.clear();
                        action = self.refilter(pos);
                    }
                }
                if self.shown == Some(id) && self.detail.is_some() {
                    self.exchanges.push(exchange.clone());
                }
                if exchange.kind == crate::model::exchange::ExchangeKind::Replay
                    || !exchange.succeeded()
                {
                    self.status = Some(crate::sanitize::escape_line(exchange.line().as_bytes()));
                }
                action
            }
            Event::Notice(text) => {
                self.status = Some(crate::sanitize::escape_line(text.as_bytes()));
                None
            }
        }
    }

    /// The mouse: a click selects a row or a tab (and focuses its pane); the wheel scrolls
    /// the pane under the pointer (the list moves the selection, the detail scrolls, an open
    /// overlay scrolls itself).
    pub fn handle_mouse(&mut self, mouse: MouseEvent) -> Option<Action> {
        let spot = self
            .hits
            .get()
            .spot(mouse.column, mouse.row, self.list_offset.get());
        let wheel = match mouse.kind {
            MouseEventKind::ScrollDown => Some(true),
            MouseEventKind::ScrollUp => Some(false),
            _ => None,
        };
        if let Some(overlay) = self.overlay.as_mut() {
            match wheel {
                Some(true) => overlay.scroll = overlay.scroll.saturating_add(WHEEL_LINES),
                Some(false) => overlay.scroll = overlay.scroll.saturating_sub(WHEEL_LINES),
                None => {}
            }
            return None;
        }
        if self.help {
            if mouse.kind == MouseEventKind::Down(MouseButton::Left) {
                self.help = false;
            }
            return None;
        }
        match (wheel, mouse.kind, spot) {
            (Some(down), _, Spot::List(_)) => self.step(down),
            (Some(true), _, Spot::Detail | Spot::Tab(_)) => {
                self.scroll = self.scroll.saturating_add(WHEEL_LINES);
                None
            }
            (Some(false), _, Spot::Detail | Spot::Tab(_)) => {
                self.scroll = self.scroll.saturating_sub(WHEEL_LINES);
                None
            }
            (None, MouseEventKind::Down(MouseButton::Left), Spot::List(pos)) => {
                self.focus = Focus::List;
                let pos = pos?;
                if pos >= self.view.len() {
                    return None;
                }
                self.follow = pos + 1 == self.view.len();
                self.select(Some(pos))
            }
            (None, MouseEventKind::Down(MouseButton::Left), Spot::Tab(tab)) => {
                self.run(Command::Tab(tab))
            }
            (None, MouseEventKind::Down(MouseButton::Left), Spot::Detail) => {
                self.focus = Focus::Detail;
                None
            }
            _ => None,
        }
    }

    /// Moves the selection one row down or up (follow comes on at the newest).
    fn step(&mut self, down: bool) -> Option<Action> {
        let last = self.view.len().checked_sub(1);
        if down {
            let next = self
                .selected
                .map_or(last, |p| Some((p + 1).min(last.unwrap_or(0))));
            self.follow = next == last;
            self.select(next)
        } else {
            self.follow = false;
            self.select(self.selected.map(|p| p.saturating_sub(1)).or(last))
        }
    }

    /// Handles a key press.
    pub fn handle_key(&mut self, key: KeyEvent) -> Option<Action> {
        if let Some(input) = self.filter_input.as_mut() {
            match key.code {
                KeyCode::Enter => {
                    self.filter_input = None;
                }
                KeyCode::Esc => {
                    self.filter_input = None;
                    self.set_filter("");
                }
                KeyCode::Backspace => {
                    input.pop();
                    let text = input.clone();
                    self.set_filter(&text);
                }
                KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                    return Some(Action::Quit);
                }
                KeyCode::Char(c) => {
                    input.push(c);
                    let text = input.clone();
                    self.set_filter(&text);
                }
                _ => {}
            }
            return self.select(self.selected);
        }
        match command_for(key) {
            Some(c) => self.run(c),
            // The help overlay closes on any key, as it says.
            None => {
                self.help = false;
                None
            }
        }
    }

    fn set_filter(&mut self, text: &str) {
        match Filter::parse(text) {
            // A term that only gained trailing spaces filters the same.
            Ok(f) if f == self.filter => self.status = None,
            Ok(f) => {
                self.filter = f;
                self.status = None;
                self.rebuild_view();
            }
            Err(e) => self.status = Some(e),
        }
    }

    /// Runs one command.
    pub fn run(&mut self, command: Command) -> Option<Action> {
        if let Some(overlay) = self.overlay.as_mut() {
            match command {
                Command::Down => overlay.scroll = overlay.scroll.saturating_add(1),
                Command::Up => overlay.scroll = overlay.scroll.saturating_sub(1),
                Command::PageDown => overlay.scroll = overlay.scroll.saturating_add(10),
                Command::PageUp => overlay.scroll = overlay.scroll.saturating_sub(10),
                Command::Quit => return Some(Action::Quit),
                _ => self.overlay = None,
            }
            return None;
        }
        if self.help {
            self.help = false;
            return if command == Command::Quit {
                Some(Action::Quit)
            } else {
                None
            };
        }
        let last = self.view.len().checked_sub(1);
        match command {
            Command::Quit => return Some(Action::Quit),
            Command::Down if self.focus == Focus::Detail => {
                self.scroll = self.scroll.saturating_add(1)
            }
            Command::Up if self.focus == Focus::Detail => {
                self.scroll = self.scroll.saturating_sub(1)
            }
            Command::Down => return self.step(true),
            Command::Up => return self.step(false),
            Command::First => {
                self.follow = false;
                return self.select(if self.view.is_empty() { None } else { Some(0) });
            }
            Command::Last => {
                self.follow = true;
                return self.select(last);
            }
            Command::PageDown => self.scroll = self.scroll.saturating_add(10),
            Command::PageUp => self.scroll = self.scroll.saturating_sub(10),
            Command::Focus => {
                self.focus = match self.focus {
                    Focus::List => Focus::Detail,
                    Focus::Detail => Focus::List,
                }
            }
            Command::NextTab => {
                self.tab = (self.tab + 1) % TABS.len();
                self.scroll = 0;
            }
            Command::Tab(n) => {
                self.tab = n.min(TABS.len() - 1);
                self.scroll = 0;
            }
            Command::Follow => {
                self.follow = !self.follow;
                self.status = Some(format!("follow {}", if self.follow { "on" } else { "off" }));
                if self.follow {
                    return self.select(last);
                }
            }
            Command::Filter => self.filter_input = Some(self.filter.source().to_string()),
            Command::Escape => {
                self.status = None;
                if !self.filter.is_empty() {
                    self.set_filter("");
                    return self.select(self.selected);
                }
            }
            Command::CopyCurl => return self.selected_row().map(|r| Action::CopyCurl(r.id)),
            Command::ClearView => {
                self.hidden_through = self.rows.last().map_or(0, |r| r.id.0);
                self.rebuild_view();
                self.status = Some("view cleared (the capture log keeps everything)".into());
                return self.select(self.selected);
            }
            Command::Mark => {
                self.mark = self.selected_row().map(|r| r.id);
                if let Some(id) = self.mark {
                    self.status = Some(format!("marked {id}; select another and press d to diff"));
                }
            }
            Command::Diff => match (self.mark, self.selected_row().map(|r| r.id)) {
                (Some(mark), Some(sel)) => return Some(Action::Diff(mark, sel)),
                _ => self.status = Some("mark a capture with m first".into()),
            },
            Command::Help => self.help = true,
            // Where the replay goes (--forward-to, else the target the log records) is the
            // loop's to find out: it has the store.
            Command::Replay | Command::ReplayResigned | Command::EditReplay => {
                if let Some(row) = self.selected_row() {
                    return Some(match command {
                        Command::EditReplay => Action::EditReplay(row.id),
                        c => Action::Replay(row.id, c == Command::ReplayResigned),
                    });
                }
            }
        }
        None
    }
}

#[cfg(test)]
pub(crate) mod tests;
