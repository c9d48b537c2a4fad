//! The collision geometry the simulation needs: axis-aligned rectangles, circles, and swept segments.
//! Pure functions on glam vectors, shared by every system (and mirrored by the web client's prediction).

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

/// Pushes a circle at `center` with `radius` out of `rect`. Returns the push-out normal when they
/// overlapped (the circle's new centre is then `center + normal * depth`, also returned).
pub fn push_circle_out_of_rect(center: Vec2, radius: f32, rect: &Rect) -> Option<(Vec2, Vec2)> {
    let closest = center.clamp(rect.min, rect.max);
    let offset = center - closest;
    let dist_sq = offset.length_squared();
    if dist_sq > 0.0 {
        if dist_sq >= radius * radius {
            return None;
        }
        let dist = dist_sq.sqrt();
        let normal = offset / dist;
        return Some((center + normal * (radius - dist), normal));
    }
    // The centre is inside the rectangle: leave by the nearest side.
    let exits = [
        (center.x - rect.min.x, Vec2::NEG_X),
        (rect.max.x - center.x, Vec2::X),
        (center.y - rect.min.y, Vec2::NEG_Y),
        (rect.max.y - center.y, Vec2::Y),
    ];
    let (depth, normal) =
        exits.into_iter().fold((f32::INFINITY, Vec2::ZERO), |best, e| if e.0 < best.0 { e } else { best });
    Some((center + normal * (depth + radius), normal))
}

/// The first time `t` in `[0, 1]` at which the segment `from → to` enters `rect` grown by `radius` on
/// every side (a Minkowski approximation of a moving circle), or `None` if it never does. A segment that
/// starts inside hits at `t = 0`.
pub fn segment_hits_rect(from: Vec2, to: Vec2, rect: &Rect, radius: f32) -> Option<f32> {
    let min = rect.min - Vec2::splat(radius);
    let max = rect.max + Vec2::splat(radius);
    let d = to - from;
    let mut t_enter = 0.0f32;
    let mut t_exit = 1.0f32;
    for axis in 0..2 {
        let (o, dir, lo, hi) = (from[axis], d[axis], min[axis], max[axis]);
        if dir.abs() < f32::EPSILON {
            if o < lo || o > hi {
                return None;
            }
        } else {
            let (mut t0, mut t1) = ((lo - o) / dir, (hi - o) / dir);
            if t0 > t1 {
                std::mem::swap(&mut t0, &mut t1);
            }
            t_enter = t_enter.max(t0);
            t_exit = t_exit.min(t1);
            if t_enter > t_exit {
                return None;
            }
        }
    }
    Some(t_enter)
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

    fn wall() -> Rect {
        Rect::from_xywh([100.0, 100.0, 50.0, 50.0])
    }

    #[test]
    fn circle_outside_is_untouched() {
        assert_eq!(push_circle_out_of_rect(Vec2::new(50.0, 125.0), 20.0, &wall()), None);
    }

    #[test]
    fn circle_overlapping_a_side_is_pushed_out_along_its_normal() {
        let (p, n) = push_circle_out_of_rect(Vec2::new(90.0, 125.0), 20.0, &wall()).expect("overlap");
        assert_eq!(n, Vec2::NEG_X);
        assert!((p.x - 80.0).abs() < 1e-4 && p.y == 125.0, "{p}");
    }

    #[test]
    fn circle_centre_inside_leaves_by_the_nearest_side() {
        let (p, n) = push_circle_out_of_rect(Vec2::new(145.0, 125.0), 10.0, &wall()).expect("overlap");
        assert_eq!(n, Vec2::X);
        assert_eq!(p, Vec2::new(160.0, 125.0));
    }

    #[test]
    fn segment_through_a_rect_hits_at_its_edge() {
        let t = segment_hits_rect(Vec2::new(0.0, 125.0), Vec2::new(200.0, 125.0), &wall(), 0.0).expect("hit");
        assert!((t - 0.5).abs() < 1e-6);
        let t =
            segment_hits_rect(Vec2::new(0.0, 125.0), Vec2::new(200.0, 125.0), &wall(), 10.0).expect("hit");
        assert!((t - 0.45).abs() < 1e-6);
        assert_eq!(segment_hits_rect(Vec2::new(0.0, 0.0), Vec2::new(200.0, 0.0), &wall(), 5.0), None);
        assert_eq!(segment_hits_rect(Vec2::new(0.0, 125.0), Vec2::new(90.0, 125.0), &wall(), 0.0), None);
    }

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
