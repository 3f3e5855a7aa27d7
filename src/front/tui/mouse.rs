//! Where the mouse is: the renderer records where it put the list rows, the tab titles and the
//! detail pane ([`Hits`]), and [`Hits::spot`] names what is under a pointer position. A leaf:
//! it knows no app state.

use ratatui::layout::{Position, Rect};

/// The clickable regions of the last frame.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Hits {
    /// The list pane (title and table header included).
    pub list: Rect,
    /// The first screen row that shows a capture.
    pub first_row_y: u16,
    /// The tab bar's row.
    pub tabs_y: u16,
    /// Columns of each tab title, `[from, to)`.
    pub tabs: [(u16, u16); 5],
    /// The detail pane below the tab bar.
    pub detail: Rect,
}

/// What is under the pointer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Spot {
    /// The list pane; the list position of the row there, when it is on a row.
    List(Option<usize>),
    /// A tab title.
    Tab(usize),
    /// The detail pane (the tab bar between titles included).
    Detail,
    /// Anything else (header, footer).
    Elsewhere,
}

impl Hits {
    /// What is at column `x`, row `y`, with the list scrolled to `offset`.
    pub fn spot(&self, x: u16, y: u16, offset: usize) -> Spot {
        let at = Position { x, y };
        if self.list.contains(at) {
            return Spot::List(
                (y >= self.first_row_y).then(|| offset + usize::from(y - self.first_row_y)),
            );
        }
        if y == self.tabs_y && self.detail.width > 0 {
            if let Some(i) = self.tabs.iter().position(|&(a, b)| x >= a && x < b) {
                return Spot::Tab(i);
            }
            return Spot::Detail;
        }
        if self.detail.contains(at) {
            return Spot::Detail;
        }
        Spot::Elsewhere
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_tabs_and_panes() {
        let hits = Hits {
            list: Rect::new(0, 2, 80, 8),
            first_row_y: 4,
            tabs_y: 10,
            tabs: [(0, 12), (13, 24), (25, 33), (34, 43), (44, 55)],
            detail: Rect::new(0, 11, 80, 12),
        };
        assert_eq!(hits.spot(5, 2, 0), Spot::List(None), "the title");
        assert_eq!(hits.spot(5, 4, 0), Spot::List(Some(0)));
        assert_eq!(hits.spot(5, 6, 100), Spot::List(Some(102)));
        assert_eq!(hits.spot(14, 10, 0), Spot::Tab(1));
        assert_eq!(hits.spot(12, 10, 0), Spot::Detail, "a divider");
        assert_eq!(hits.spot(3, 15, 0), Spot::Detail);
        assert_eq!(hits.spot(3, 23, 0), Spot::Elsewhere, "the footer");
    }
}
