//! The help overlay, drawn from the one key table, with the colour legend of worker states.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Widget};

use super::widgets::WorkerState;

pub(super) fn render_help(area: Rect, buf: &mut Buffer) {
    let mut lines: Vec<Line> = super::keymap::KEYMAP
        .iter()
        .map(|b| {
            Line::from(vec![
                Span::styled(
                    format!("{:>10}  ", b.label),
                    Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
                ),
                Span::raw(b.help),
            ])
        })
        .collect();
    lines.push(Line::from(""));
    for states in [
        &[WorkerState::Idle, WorkerState::Busy, WorkerState::Queued, WorkerState::Overloaded][..],
        &[WorkerState::Slow, WorkerState::Ejected, WorkerState::Down, WorkerState::DeadUnnoticed][..],
        &[WorkerState::Starting, WorkerState::Draining, WorkerState::Retired][..],
    ] {
        let mut legend = vec![Span::raw("        ")];
        for state in states {
            legend.push(Span::styled(format!("█ {}  ", state.name()), Style::new().fg(state.color())));
        }
        lines.push(Line::from(legend));
    }
    let width = 64.min(area.width.saturating_sub(4));
    let height = (lines.len() as u16 + 2).min(area.height.saturating_sub(2));
    let rect =
        Rect { x: area.x + (area.width - width) / 2, y: area.y + (area.height - height) / 2, width, height };
    Clear.render(rect, buf);
    Paragraph::new(lines)
        .block(Block::bordered().title(" keys ").border_style(Style::new().fg(Color::Cyan)))
        .render(rect, buf);
}
