//! A container's temperature band: from the product catalog, moved with the
//! reading's own setpoint when it carries one.

use crate::catalog::Product;

/// Temperatures outside this range are a sensor fault, not the box (contract §3).
pub const PLAUSIBLE_LOW: f64 = -80.0;
pub const PLAUSIBLE_HIGH: f64 = 80.0;

/// Thresholds for one container: the catalog band, moved with the reading's
/// own setpoint when it carries one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Band {
    /// False when neither the catalog nor the reading gives a band.
    pub known: bool,
    pub setpoint: f64,
    pub low: Option<f64>,
    pub high: f64,
    /// Above this, even briefly, the product is at risk (frozen fish: −15 °C).
    pub brief_high: Option<f64>,
    /// Below this the product is chill-injured (bananas: 12 °C).
    pub chill_below: Option<f64>,
    /// Controlled atmosphere: the O2 band and CO2 ceiling.
    pub ca: bool,
}

/// Half-width of the band assumed for a product the catalog does not know
/// but whose reading carries `target_temperature`.
pub const DEFAULT_HALF_BAND: f64 = 2.0;

impl Band {
    pub fn resolve(catalog: &[Product], product_id: &str, target: Option<f64>) -> Band {
        match (catalog.iter().find(|p| p.id == product_id), target) {
            (Some(p), t) => {
                let shift = match t {
                    Some(t) if (t - p.setpoint).abs() > 0.05 => t - p.setpoint,
                    _ => 0.0,
                };
                Band {
                    known: true,
                    setpoint: p.setpoint + shift,
                    low: p.band_low.map(|x| x + shift),
                    high: p.band_high + shift,
                    brief_high: p.brief_high.map(|x| x + shift),
                    chill_below: p.chill_injury_below.map(|x| x + shift),
                    ca: p.atmosphere.is_some(),
                }
            }
            (None, Some(t)) => Band {
                known: true,
                setpoint: t,
                low: if t <= -10.0 {
                    None
                } else {
                    Some(t - DEFAULT_HALF_BAND)
                },
                high: t + DEFAULT_HALF_BAND,
                brief_high: None,
                chill_below: None,
                ca: false,
            },
            (None, None) => Band::default(),
        }
    }

    pub fn contains(&self, t: f64) -> bool {
        t <= self.high && self.low.is_none_or(|l| t >= l)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::default_catalog;

    #[test]
    fn bands_follow_the_catalog_and_the_setpoint() {
        let c = default_catalog();
        let b = Band::resolve(&c, "P02", None);
        assert_eq!(
            (b.low, b.high, b.chill_below),
            (Some(12.5), 14.5, Some(12.0))
        );
        let b = Band::resolve(&c, "P02", Some(14.3));
        assert!((b.high - 15.5).abs() < 1e-9);
        let b = Band::resolve(&c, "X9", Some(-25.0));
        assert_eq!((b.low, b.high), (None, -23.0));
        assert!(!Band::resolve(&c, "X9", None).known);
    }
}
