//! The product catalog (contract §2): setpoints, alarm bands and controlled atmosphere.

/// Controlled-atmosphere limits for products shipped in a low-oxygen box.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Atmosphere {
    pub o2_min: f64,
    pub o2_max: f64,
    pub co2_max: f64,
}

/// One product the fleet carries.
#[derive(Debug, Clone, PartialEq)]
pub struct Product {
    pub id: String,
    pub name: String,
    /// Setpoint, °C.
    pub setpoint: f64,
    /// Lowest acceptable return-air temperature, °C (`None`: no lower limit, frozen goods).
    pub band_low: Option<f64>,
    /// Highest acceptable return-air temperature, °C.
    pub band_high: f64,
    /// A brief deviation up to this temperature is tolerated (frozen fish: −15 °C).
    pub brief_high: Option<f64>,
    /// Below this the product is chill-injured (bananas: 12 °C).
    pub chill_injury_below: Option<f64>,
    pub atmosphere: Option<Atmosphere>,
}

impl Product {
    pub fn is_frozen(&self) -> bool {
        self.setpoint <= -10.0
    }

    pub fn in_band(&self, temperature: f64) -> bool {
        temperature <= self.band_high && self.band_low.is_none_or(|low| temperature >= low)
    }

    /// Whether the cargo is in its band, judged on the air the unit controls:
    /// a chilled unit controls its supply air (its return air runs about 2 K
    /// above: Container Handbook §7.2.7.2), so supply air is judged when it is
    /// known and plausible, else return air with the band's top raised by
    /// [`RETURN_ALLOWANCE`]; a frozen unit controls, and is judged on, its
    /// return air. reefer-detect's temperature_band rule judges the same air.
    pub fn controlled_in_band(&self, return_air: f64, supply_air: Option<f64>) -> bool {
        if self.is_frozen() {
            return self.in_band(return_air);
        }
        match supply_air.filter(|s| (-40.0..=60.0).contains(s)) {
            Some(s) => self.in_band(s),
            None => {
                return_air <= self.band_high + RETURN_ALLOWANCE
                    && self.band_low.is_none_or(|low| return_air >= low)
            }
        }
    }
}

/// How far a chilled unit's return air may run above its supply air, °C.
pub const RETURN_ALLOWANCE: f64 = 3.0;

/// The default catalog of contract §2.
pub fn default_catalog() -> Vec<Product> {
    fn p(
        id: &str,
        name: &str,
        setpoint: f64,
        band: (Option<f64>, f64),
        brief_high: Option<f64>,
        chill: Option<f64>,
        atmosphere: Option<Atmosphere>,
    ) -> Product {
        Product {
            id: id.into(),
            name: name.into(),
            setpoint,
            band_low: band.0,
            band_high: band.1,
            brief_high,
            chill_injury_below: chill,
            atmosphere,
        }
    }
    vec![
        p("P01", "carrots", 0.0, (Some(-1.0), 2.0), None, None, None),
        p(
            "P02",
            "bananas",
            13.3,
            (Some(12.5), 14.5),
            None,
            Some(12.0),
            Some(Atmosphere {
                o2_min: 2.0,
                o2_max: 5.0,
                co2_max: 7.0,
            }),
        ),
        p("P03", "lettuce", 0.0, (Some(-0.5), 2.0), None, None, None),
        p(
            "P04",
            "avocados",
            6.0,
            (Some(4.0), 8.0),
            None,
            None,
            Some(Atmosphere {
                o2_min: 2.0,
                o2_max: 5.0,
                co2_max: 10.0,
            }),
        ),
        p(
            "P05",
            "tomatoes (mature green)",
            13.0,
            (Some(11.0), 15.0),
            None,
            None,
            None,
        ),
        p(
            "P06",
            "frozen fish",
            -20.0,
            (None, -18.0),
            Some(-15.0),
            None,
            None,
        ),
        p(
            "P07",
            "pharma / vaccines",
            5.0,
            (Some(2.0), 8.0),
            None,
            None,
            None,
        ),
        p(
            "P08",
            "vaccines, deep frozen",
            -70.0,
            (None, -60.0),
            None,
            None,
            None,
        ),
    ]
}

/// Looks a product up by id in a catalog.
/// The catalog as a table (`reefer-detect --list-products`, its `--help`
/// and man page): temperatures in °C, CA limits in % O2 min-max / CO2 max.
pub fn table(catalog: &[Product]) -> String {
    let c = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v}"));
    let mut out = format!(
        "{:<5} {:<23} {:>8} {:>8} {:>9} {:>10} {:>11} {:>9}\n",
        "id", "name", "setpoint", "band_low", "band_high", "brief_high", "chill_below", "CA O2/CO2"
    );
    for p in catalog {
        let ca = match &p.atmosphere {
            Some(a) => format!("{}-{}/{}", a.o2_min, a.o2_max, a.co2_max),
            None => "-".into(),
        };
        out.push_str(&format!(
            "{:<5} {:<23} {:>8} {:>8} {:>9} {:>10} {:>11} {:>9}\n",
            p.id,
            p.name,
            p.setpoint,
            c(p.band_low),
            p.band_high,
            c(p.brief_high),
            c(p.chill_injury_below),
            ca
        ));
    }
    out
}

pub fn find<'a>(catalog: &'a [Product], id: &str) -> Option<&'a Product> {
    catalog.iter().find(|p| p.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_matches_the_spec() {
        let c = default_catalog();
        assert_eq!(c.len(), 8);
        let bananas = find(&c, "P02").unwrap();
        assert!(bananas.in_band(13.3) && !bananas.in_band(12.0));
        // Chilled: supply air is judged; return air 2.3 K above it is normal.
        assert!(bananas.controlled_in_band(15.6, Some(13.3)));
        assert!(!bananas.controlled_in_band(15.6, Some(15.0)));
        assert!(bananas.controlled_in_band(15.6, None));
        assert!(!bananas.controlled_in_band(17.6, None));
        let fish = find(&c, "P06").unwrap();
        assert!(fish.is_frozen() && fish.in_band(-25.0) && !fish.in_band(-17.0));
        assert!(find(&c, "P99").is_none());
    }
}
