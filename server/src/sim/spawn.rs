//! Choosing where a ship appears.

use glam::Vec2;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// The spawn point farthest from every enemy (the largest distance to the nearest one). With no enemies,
/// a random spawn point; ties go to the first. `points` is never empty (the map is validated).
pub fn farthest_spawn(points: &[Vec2], enemies: &[Vec2], rng: &mut ChaCha8Rng) -> Vec2 {
    // Ships live on the wire's 1/8-unit grid from their first tick.
    super::motion::on_grid(pick_spawn(points, enemies, rng))
}

fn pick_spawn(points: &[Vec2], enemies: &[Vec2], rng: &mut ChaCha8Rng) -> Vec2 {
    if enemies.is_empty() || points.len() == 1 {
        return points.get(rng.random_range(0..points.len().max(1))).copied().unwrap_or(Vec2::ZERO);
    }
    let clearance = |p: &Vec2| enemies.iter().map(|e| e.distance_squared(*p)).fold(f32::INFINITY, f32::min);
    points
        .iter()
        .copied()
        .fold((Vec2::ZERO, f32::NEG_INFINITY), |best, p| {
            let c = clearance(&p);
            if c > best.1 { (p, c) } else { best }
        })
        .0
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn picks_the_point_farthest_from_the_nearest_enemy() {
        let points = [Vec2::new(0.0, 0.0), Vec2::new(100.0, 0.0), Vec2::new(50.0, 100.0)];
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        assert_eq!(farthest_spawn(&points, &[Vec2::new(10.0, 100.0)], &mut rng), Vec2::new(100.0, 0.0));
        let enemies = [Vec2::new(0.0, 0.0), Vec2::new(100.0, 0.0)];
        assert_eq!(farthest_spawn(&points, &enemies, &mut rng), Vec2::new(50.0, 100.0));
    }
}
