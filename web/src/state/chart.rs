//! Scaling for the small SVG charts of the tracking pages: values to points in a box.

/// A chart area in SVG user units, with a margin kept free on every side.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Frame {
    /// Total width.
    pub width: f64,
    /// Total height.
    pub height: f64,
    /// Free space on each side.
    pub margin: f64,
}

impl Frame {
    /// Maps `values` (in order, evenly spaced) to an SVG `points` attribute. The lowest value
    /// sits on the bottom edge and the highest on the top edge; all-equal values draw a flat
    /// line in the middle; no values draw nothing.
    pub fn polyline(&self, values: &[f64]) -> String {
        let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        if finite.is_empty() {
            return String::new();
        }
        let (lo, hi) = finite
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(*v), hi.max(*v))
            });
        let inner_w = (self.width - 2.0 * self.margin).max(0.0);
        let inner_h = (self.height - 2.0 * self.margin).max(0.0);
        let step = if finite.len() > 1 {
            inner_w / (finite.len() - 1) as f64
        } else {
            0.0
        };
        finite
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let x = self.margin + step * i as f64;
                let t = if hi > lo { (v - lo) / (hi - lo) } else { 0.5 };
                let y = self.margin + inner_h * (1.0 - t);
                format!("{x:.1},{y:.1}")
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRAME: Frame = Frame {
        width: 110.0,
        height: 60.0,
        margin: 5.0,
    };

    #[test]
    fn extremes_touch_the_edges() {
        assert_eq!(
            FRAME.polyline(&[0.0, 10.0, 5.0]),
            "5.0,55.0 55.0,5.0 105.0,30.0"
        );
    }

    #[test]
    fn flat_and_single_values_sit_in_the_middle() {
        assert_eq!(FRAME.polyline(&[3.0, 3.0]), "5.0,30.0 105.0,30.0");
        assert_eq!(FRAME.polyline(&[7.0]), "5.0,30.0");
    }

    #[test]
    fn nothing_to_draw() {
        assert_eq!(FRAME.polyline(&[]), "");
        assert_eq!(FRAME.polyline(&[f64::NAN]), "");
    }
}
