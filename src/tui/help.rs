//! The help overlay, drawn from the one key table, with the colour legend of worker states.
//! Its lines wrap at words to the overlay's width, and it scrolls (↑↓, PgUp PgDn, the wheel)
//! when the terminal is too short for all of them, so nothing is cut or lost at 80x24.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Widget};

use super::widgets::WorkerState;

/// Columns of the keys, right-aligned, before what they do.
const LABEL: usize = 10;

/// The overlay's lines for an inner width of `width` columns: each key's words wrapped under
/// themselves, the mouse, then the colour legend wrapped by whole entries.
pub fn help_lines(width: usize) -> Vec<Line<'static>> {
    let text_width = width.saturating_sub(LABEL + 2).max(8);
    let key_style = Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD);
    let mut lines = Vec::new();
    let mut entry = |label: &str, text: &str| {
        for (i, part) in crate::text::wrap(text, text_width).into_iter().enumerate() {
            let label = if i == 0 { label } else { "" };
            lines.push(Line::from(vec![
                Span::styled(format!("{label:>LABEL$}  "), key_style),
                Span::raw(part),
            ]));
        }
    };
    for b in super::keymap::KEYMAP {
        entry(b.label, b.help);
    }
    let (mouse, what) = super::keymap::MOUSE.split_once(": ").unwrap_or(("mouse", super::keymap::MOUSE));
    entry(mouse, what);
    lines.push(Line::from(""));
    let mut legend: Vec<Span<'static>> = Vec::new();
    let mut used = 0;
    for state in [
        WorkerState::Idle,
        WorkerState::Busy,
        WorkerState::Queued,
        WorkerState::Overloaded,
        WorkerState::Slow,
        WorkerState::Ejected,
        WorkerState::Down,
        WorkerState::DeadUnnoticed,
        WorkerState::Starting,
        WorkerState::Draining,
        WorkerState::Retired,
    ] {
        let item = format!("█ {}  ", state.name());
        let w = crate::text::width(&item);
        if used > 0 && used + w > width {
            lines.push(Line::from(std::mem::take(&mut legend)));
            used = 0;
        }
        if used == 0 {
            legend.push(Span::raw("  "));
            used = 2;
        }
        legend.push(Span::styled(item, Style::new().fg(state.color())));
        used += w;
    }
    lines.push(Line::from(legend));
    lines
}

/// Draws the overlay in the middle of `area`, scrolled down `scroll` lines (at most to its
/// last page).
pub(super) fn render_help(scroll: usize, area: Rect, buf: &mut Buffer) {
    let width = 76.min(area.width.saturating_sub(4));
    let lines = help_lines(width.saturating_sub(2) as usize);
    let height = (lines.len() as u16 + 2).min(area.height.saturating_sub(2));
    let visible = height.saturating_sub(2) as usize;
    let scroll = scroll.min(lines.len().saturating_sub(visible));
    let rect =
        Rect { x: area.x + (area.width - width) / 2, y: area.y + (area.height - height) / 2, width, height };
    let more = lines.len() > visible;
    let title =
        if more { " keys · ↑↓ scroll · any other key closes " } else { " keys · any key closes " };
    let mut block = Block::bordered().title(title).border_style(Style::new().fg(Color::Cyan));
    if more {
        let shown =
            format!(" lines {}-{} of {} ", scroll + 1, (scroll + visible).min(lines.len()), lines.len());
        block = block.title_bottom(shown);
    }
    Clear.render(rect, buf);
    Paragraph::new(lines.into_iter().skip(scroll).collect::<Vec<_>>()).block(block).render(rect, buf);
}
