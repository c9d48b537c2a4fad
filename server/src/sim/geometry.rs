//! The collision geometry only the server needs: rectangles (walls) and the swept test of a projectile
//! against a ship. What the client mirrors (pushing a ship out of a wall, a shot's flight) lives in
//! [`super::motion`].

use glam::Vec2;

/// An axis-aligned rectangle.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    /// Top-left corner.
    pub min: Vec2,
    /// Bottom-right corner.
    pub max: Vec2,
}

impl Rect {
    /// The rectangle at `[x, y]` (top-left) with size `[w, h]`.
    pub fn from_xywh([x, y, w, h]: [f32; 4]) -> Self {
        Self { min: Vec2::new(x, y), max: Vec2::new(x + w, y + h) }
    }

    /// As `[x, y, w, h]`.
    pub fn to_xywh(self) -> [f32; 4] {
        let size = self.max - self.min;
        [self.min.x, self.min.y, size.x, size.y]
    }

    /// The distance from `p` to the rectangle (0 inside).
    pub fn distance(&self, p: Vec2) -> f32 {
        (p.clamp(self.min, self.max) - p).length()
    }
}

/// The first time `t` in `[0, 1]` at which the segment `from → to` comes within `radius` of `center`,
/// or `None`. A segment that starts within hits at `t = 0`.
pub fn segment_hits_circle(from: Vec2, to: Vec2, center: Vec2, radius: f32) -> Option<f32> {
    let d = to - from;
    let f = from - center;
    let c = f.length_squared() - radius * radius;
    if c <= 0.0 {
        return Some(0.0);
    }
    let a = d.length_squared();
    if a < f32::EPSILON {
        return None;
    }
    let b = 2.0 * f.dot(d);
    let disc = b * b - 4.0 * a * c;
    if disc < 0.0 {
        return None;
    }
    let t = (-b - disc.sqrt()) / (2.0 * a);
    (0.0..=1.0).contains(&t).then_some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_past_a_circle_hits_at_first_contact() {
        let t =
            segment_hits_circle(Vec2::ZERO, Vec2::new(100.0, 0.0), Vec2::new(50.0, 0.0), 10.0).expect("hit");
        assert!((t - 0.4).abs() < 1e-6);
        assert_eq!(segment_hits_circle(Vec2::ZERO, Vec2::new(100.0, 0.0), Vec2::new(50.0, 20.0), 10.0), None);
        assert_eq!(segment_hits_circle(Vec2::ZERO, Vec2::new(30.0, 0.0), Vec2::new(50.0, 0.0), 10.0), None);
        assert_eq!(
            segment_hits_circle(Vec2::new(49.0, 0.0), Vec2::new(100.0, 0.0), Vec2::new(50.0, 0.0), 10.0),
            Some(0.0)
        );
    }
}
