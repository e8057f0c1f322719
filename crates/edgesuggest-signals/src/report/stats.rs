//! The statistics of the report, from first principles (no statistics crate): the normal
//! distribution and its inverse, the chi-square survival function, the two-proportion z-test
//! with its Wald interval, the sample size of a planned test, and nearest-rank percentiles.
//! `libm` supplies `erfc` and `lgamma`, which `std` lacks.

/// z of a two-sided 95% interval: Φ⁻¹(0.975).
pub const Z_95: f64 = 1.959_963_984_540_054;

/// Φ(x), the standard normal CDF. Through `erfc` so the tails keep their relative precision
/// (1 − erf would round small p-values to 0).
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
}

/// Φ⁻¹(p) for p in (0, 1): Acklam's rational approximation (relative error 1.15e-9), then one
/// Halley step against `erfc`, which brings it to full double precision. `None` outside (0, 1).
pub fn normal_quantile(p: f64) -> Option<f64> {
    if !(p > 0.0 && p < 1.0) {
        return None;
    }
    let x = acklam(p);
    // Halley's step on Φ(x) − p: e is the error, u = e·√(2π)·exp(x²/2) the Newton step.
    let e = normal_cdf(x) - p;
    let u = e * (2.0 * std::f64::consts::PI).sqrt() * (x * x / 2.0).exp();
    Some(x - u / (1.0 + x * u / 2.0))
}

/// Acklam's approximation: a rational function in the centre, another in each tail.
fn acklam(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    const LOW: f64 = 0.024_25;
    if p < LOW {
        return tail((-2.0 * p.ln()).sqrt());
    }
    if p > 1.0 - LOW {
        return -tail((-2.0 * (1.0 - p).ln()).sqrt());
    }
    let q = p - 0.5;
    let r = q * q;
    (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
        / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
}

/// P(χ²_df > x): the regularized upper incomplete gamma Q(df/2, x/2). `None` for df = 0 or a
/// negative or non-finite x.
pub fn chi_square_sf(x: f64, df: u32) -> Option<f64> {
    if df == 0 || !(x.is_finite() && x >= 0.0) {
        return None;
    }
    Some(gamma_q(f64::from(df) / 2.0, x / 2.0))
}

/// Q(a, x) = Γ(a, x) / Γ(a), a > 0, x ≥ 0 (Numerical Recipes §6.2): the series for P when
/// x < a + 1 (where it converges fast), else the continued fraction for Q directly (so a
/// small Q is not the difference of two numbers near 1).
fn gamma_q(a: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    if x < a + 1.0 {
        (1.0 - gamma_p_series(a, x)).clamp(0.0, 1.0)
    } else {
        gamma_q_fraction(a, x).clamp(0.0, 1.0)
    }
}

/// Iterations before a series or fraction is taken as converged (both converge in far fewer
/// for any a the report uses: df ≤ a few dozen).
const MAX_ITERATIONS: usize = 10_000;
const EPSILON: f64 = 1e-15;

/// P(a, x) by its series: e^(−x) x^a / Γ(a) · Σ xⁿ / (a (a+1) … (a+n)).
fn gamma_p_series(a: f64, x: f64) -> f64 {
    let mut term = 1.0 / a;
    let mut sum = term;
    let mut denominator = a;
    for _ in 0..MAX_ITERATIONS {
        denominator += 1.0;
        term *= x / denominator;
        sum += term;
        if term.abs() < sum.abs() * EPSILON {
            break;
        }
    }
    sum * (-x + a * x.ln() - libm::lgamma(a)).exp()
}

/// Q(a, x) by its continued fraction, evaluated with the modified Lentz method.
fn gamma_q_fraction(a: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let mut b = x + 1.0 - a;
    let mut c = 1.0 / TINY;
    let mut d = 1.0 / b;
    let mut h = d;
    for i in 1..MAX_ITERATIONS {
        let an = -(i as f64) * (i as f64 - a);
        b += 2.0;
        d = an * d + b;
        if d.abs() < TINY {
            d = TINY;
        }
        c = b + an / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let step = d * c;
        h *= step;
        if (step - 1.0).abs() < EPSILON {
            break;
        }
    }
    (-x + a * x.ln() - libm::lgamma(a)).exp() * h
}

/// One arm's side of a comparison: successes (clicked impressions) out of trials.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Proportion {
    /// Successes.
    pub hits: u64,
    /// Trials.
    pub n: u64,
}

impl Proportion {
    /// hits / n; `None` without trials.
    pub fn rate(self) -> Option<f64> {
        (self.n > 0).then(|| self.hits as f64 / self.n as f64)
    }
}

/// Treatment against control: the absolute difference of the rates, its 95% Wald interval
/// (unpooled), and the two-sided p-value of the pooled two-proportion z-test.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct TwoProportions {
    /// p₁ − p₀.
    pub diff: f64,
    /// diff − 1.959964·SE (SE unpooled).
    pub ci_low: f64,
    /// diff + 1.959964·SE.
    pub ci_high: f64,
    /// The z statistic (pooled SE); 0 when both rates are 0 or both 1.
    pub z: f64,
    /// Two-sided p-value, 2·(1 − Φ(|z|)).
    pub p_value: f64,
}

/// Compares `treatment` with `control`; `None` when either has no trials.
pub fn two_proportions(treatment: Proportion, control: Proportion) -> Option<TwoProportions> {
    let (p1, p0) = (treatment.rate()?, control.rate()?);
    let (n1, n0) = (treatment.n as f64, control.n as f64);
    let diff = p1 - p0;
    let se = (p1 * (1.0 - p1) / n1 + p0 * (1.0 - p0) / n0).sqrt();
    let pooled = (treatment.hits + control.hits) as f64 / (n1 + n0);
    let pooled_se = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n0)).sqrt();
    // With no variance at all (every rate 0, or every rate 1) there is no evidence of a
    // difference: z = 0, p = 1, rather than 0/0.
    let z = if pooled_se > 0.0 {
        diff / pooled_se
    } else {
        0.0
    };
    Some(TwoProportions {
        diff,
        ci_low: diff - Z_95 * se,
        ci_high: diff + Z_95 * se,
        z,
        p_value: (2.0 * normal_cdf(-z.abs())).min(1.0),
    })
}

/// Users per arm for a two-sided two-proportion z-test at level `alpha` with `power` to
/// detect an absolute lift of `mde` over `baseline`:
/// n = (z₁₋α/₂·√(2p̄(1−p̄)) + z_power·√(p₁(1−p₁) + p₂(1−p₂)))² / mde², rounded up.
/// The error says which argument is out of range.
pub fn sample_size(baseline: f64, mde: f64, alpha: f64, power: f64) -> Result<u64, String> {
    let p1 = baseline;
    let p2 = baseline + mde;
    if !(p1 > 0.0 && p1 < 1.0) {
        return Err(format!("--baseline-ctr {baseline}: give a rate in (0, 1)"));
    }
    if !(mde > 0.0 && p2 < 1.0) {
        return Err(format!(
            "--mde {mde}: give an absolute lift > 0 with baseline + mde < 1"
        ));
    }
    let z_alpha = normal_quantile(1.0 - alpha / 2.0)
        .filter(|_| alpha > 0.0 && alpha < 1.0)
        .ok_or(format!(
            "--alpha {alpha}: give a level in (0, 1), e.g. 0.05"
        ))?;
    let z_power = normal_quantile(power)
        .filter(|_| power > 0.0 && power < 1.0)
        .ok_or(format!("--power {power}: give a power in (0, 1), e.g. 0.8"))?;
    let mean = (p1 + p2) / 2.0;
    let root = z_alpha * (2.0 * mean * (1.0 - mean)).sqrt()
        + z_power * (p1 * (1.0 - p1) + p2 * (1.0 - p2)).sqrt();
    let n = (root * root / (mde * mde)).ceil();
    if !(n.is_finite() && n < 1e15) {
        return Err(format!("--mde {mde}: the lift is too small to plan for"));
    }
    Ok(n as u64)
}

/// The nearest-rank percentile `pct` (0 < pct ≤ 100) of sorted values: the smallest value
/// with at least pct% of the values at or below it. `None` for no values.
pub fn nearest_rank(sorted: &[u64], pct: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (pct / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn normal_cdf_at_known_points() {
        // Tables: Φ(0) = 0.5, Φ(1) = 0.841344746, Φ(−1.959964) = 0.025, Φ(−3) = 0.001349898.
        assert!(close(normal_cdf(0.0), 0.5, 1e-15));
        assert!(close(normal_cdf(1.0), 0.841_344_746_068_543, 1e-12));
        assert!(close(normal_cdf(-Z_95), 0.025, 1e-12));
        assert!(close(normal_cdf(-3.0), 0.001_349_898_031_630_1, 1e-14));
    }

    #[test]
    fn normal_quantile_at_known_points() {
        // Tables: Φ⁻¹(0.975) = 1.959963985, Φ⁻¹(0.8) = 0.841621234, Φ⁻¹(0.95) = 1.644853627,
        // Φ⁻¹(0.001) = −3.090232306, Φ⁻¹(1e-10) = −6.361340902.
        let q = |p| normal_quantile(p).unwrap();
        assert!(close(q(0.975), 1.959_963_984_540_054, 1e-12));
        assert!(close(q(0.8), 0.841_621_233_572_914, 1e-12));
        assert!(close(q(0.95), 1.644_853_626_951_472, 1e-12));
        assert!(close(q(0.5), 0.0, 1e-15));
        assert!(close(q(0.001), -3.090_232_306_167_813, 1e-11));
        assert!(close(q(1e-10), -6.361_340_902_404_056, 1e-9));
        assert_eq!(normal_quantile(0.0), None);
        assert_eq!(normal_quantile(1.0), None);
        assert_eq!(normal_quantile(f64::NAN), None);
    }

    #[test]
    fn chi_square_at_known_points() {
        // The 5% and 0.1% critical values of the tables.
        let p = |x, df| chi_square_sf(x, df).unwrap();
        assert!(close(p(3.841_459, 1), 0.05, 1e-7));
        assert!(close(p(5.991_465, 2), 0.05, 1e-7));
        assert!(close(p(10.828, 1), 0.001, 1e-6));
        assert!(close(p(11.070_498, 5), 0.05, 1e-7));
        // df = 2 is exp(−x/2) exactly; x = 0 is 1; a huge x is 0.
        assert!(close(p(1.0, 2), (-0.5f64).exp(), 1e-14));
        assert_eq!(p(0.0, 3), 1.0);
        assert!(p(1e4, 1) < 1e-300);
        assert_eq!(chi_square_sf(1.0, 0), None);
        assert_eq!(chi_square_sf(f64::NAN, 1), None);
    }

    #[test]
    fn two_proportions_by_hand() {
        // Treatment 60/400 = 0.15, control 40/400 = 0.10; diff = 0.05.
        // Unpooled SE = √(0.15·0.85/400 + 0.10·0.90/400) = √(0.00031875 + 0.000225)
        //   = √0.00054375 = 0.0233184; CI = 0.05 ± 1.959964·0.0233184 = [0.0042967, 0.0957033].
        // Pooled p = 100/800 = 0.125; SE = √(0.125·0.875·(2/400)) = √0.000546875 = 0.0233854;
        // z = 0.05 / 0.0233854 = 2.13809; p = 2·(1 − Φ(2.13809)) = 0.032509.
        let t = two_proportions(
            Proportion { hits: 60, n: 400 },
            Proportion { hits: 40, n: 400 },
        )
        .unwrap();
        assert!(close(t.diff, 0.05, 1e-15));
        assert!(close(t.ci_low, 0.004_296_7, 1e-6), "{t:?}");
        assert!(close(t.ci_high, 0.095_703_3, 1e-6), "{t:?}");
        assert!(close(t.z, 2.138_09, 1e-5), "{t:?}");
        assert!(close(t.p_value, 0.032_509, 1e-5), "{t:?}");
        let none = Proportion { hits: 0, n: 0 };
        assert_eq!(two_proportions(none, Proportion { hits: 1, n: 2 }), None);
        let zeros = two_proportions(Proportion { hits: 0, n: 5 }, Proportion { hits: 0, n: 5 });
        assert_eq!(zeros.map(|t| t.p_value), Some(1.0));
    }

    #[test]
    fn sample_size_by_hand() {
        // p1 = 0.125, p2 = 0.135, p̄ = 0.13: √(2·0.13·0.87) = √0.2262 = 0.4756049;
        // √(0.125·0.875 + 0.135·0.865) = √(0.109375 + 0.116775) = √0.22615 = 0.4755523;
        // (1.9599640·0.4756049 + 0.8416212·0.4755523)² / 0.01² = (0.9321687 + 0.4002347)²·10⁴
        //   = 1.3324034²·10⁴ = 17752.99 → 17753 users per arm.
        assert_eq!(sample_size(0.125, 0.01, 0.05, 0.8), Ok(17753));
        assert!(sample_size(0.0, 0.01, 0.05, 0.8).is_err());
        assert!(sample_size(0.5, 0.6, 0.05, 0.8).is_err());
        assert!(sample_size(0.1, 0.01, 1.5, 0.8).is_err());
        assert!(sample_size(0.1, 0.01, 0.05, 1.0).is_err());
    }

    #[test]
    fn nearest_rank_percentiles() {
        // 10 values: p50 is the 5th (rank ⌈5⌉), p95 the 10th (rank ⌈9.5⌉ = 10).
        let v: Vec<u64> = (1..=10).map(|i| i * 100).collect();
        assert_eq!(nearest_rank(&v, 50.0), Some(500));
        assert_eq!(nearest_rank(&v, 95.0), Some(1000));
        assert_eq!(nearest_rank(&v[..1], 95.0), Some(100));
        assert_eq!(nearest_rank(&[], 50.0), None);
    }
}
