//! Who is in the fleet: ISO 6346 container ids, products, and voyages between
//! real reefer ports.

/// Owner codes of reefer operators and lessors (ISO 6346 owner code + `U`).
const OWNERS: [&str; 8] = ["MNBU", "MSKU", "HLXU", "CGMU", "MSCU", "TRIU", "SZLU", "ONEU"];

/// ISO 6346 letter values: A=10, skipping multiples of 11.
fn letter_value(c: u8) -> u32 {
    let mut v = 10;
    for l in b'A'..c {
        let _ = l;
        v += 1;
        if v % 11 == 0 {
            v += 1;
        }
    }
    v
}

/// The ISO 6346 check digit of the first ten characters (owner code, category, serial).
pub fn check_digit(first10: &str) -> Option<u32> {
    let bytes = first10.as_bytes();
    if bytes.len() != 10 {
        return None;
    }
    let mut sum = 0u32;
    for (i, &b) in bytes.iter().enumerate() {
        let v = match b {
            b'A'..=b'Z' if i < 4 => letter_value(b),
            b'0'..=b'9' if i >= 4 => (b - b'0') as u32,
            _ => return None,
        };
        sum += v << i;
    }
    Some(sum % 11 % 10)
}

/// True when `id` is a well-formed ISO 6346 container number with a valid check digit.
pub fn is_valid_container_id(id: &str) -> bool {
    id.len() == 11
        && id.is_ascii()
        && id.as_bytes()[10].is_ascii_digit()
        && check_digit(&id[..10]) == Some((id.as_bytes()[10] - b'0') as u32)
}

/// The container id of fleet member `index`: unique within a fleet of up to a million.
pub fn container_id(owner_pick: usize, index: usize, serial_base: u32) -> String {
    let owner = OWNERS[owner_pick % OWNERS.len()];
    // 7919 is prime and coprime with 10^6, so serials are distinct for distinct indices.
    let serial = (serial_base as u64 + index as u64 * 7919) % 1_000_000;
    let first10 = format!("{owner}{serial:06}");
    let digit = check_digit(&first10).expect("well-formed id");
    format!("{first10}{digit}")
}

/// A sea route as waypoints (latitude, longitude); longitudes may run past ±180
/// so that a route crossing the date line interpolates the short way.
pub struct Route {
    pub name: &'static str,
    pub products: &'static [&'static str],
    pub waypoints: &'static [(f64, f64)],
}

/// Reefer trades of the real world, with the products they typically carry.
pub const ROUTES: &[Route] = &[
    Route {
        name: "Guayaquil-Rotterdam",
        products: &["P02"],
        waypoints: &[
            (-2.25, -79.90),
            (-2.70, -80.40),
            (-1.00, -81.20),
            (7.00, -79.60),
            (8.90, -79.52),
            (9.35, -79.90),
            (12.00, -77.50),
            (18.00, -74.80),
            (20.00, -73.90),
            (26.00, -62.00),
            (38.00, -30.00),
            (46.00, -8.00),
            (49.20, -4.50),
            (51.00, 1.50),
            (51.95, 4.05),
        ],
    },
    Route {
        name: "Callao-Rotterdam",
        products: &["P04", "P02"],
        waypoints: &[
            (-12.05, -77.15),
            (-8.00, -80.50),
            (-1.00, -81.50),
            (7.00, -79.60),
            (8.90, -79.52),
            (9.35, -79.90),
            (12.00, -77.50),
            (18.00, -74.80),
            (20.00, -73.90),
            (26.00, -62.00),
            (38.00, -30.00),
            (46.00, -8.00),
            (49.20, -4.50),
            (51.00, 1.50),
            (51.95, 4.05),
        ],
    },
    Route {
        name: "SanAntonio-Philadelphia",
        products: &["P04", "P05"],
        waypoints: &[
            (-33.59, -71.62),
            (-20.00, -73.50),
            (-5.00, -82.00),
            (7.00, -79.60),
            (8.90, -79.52),
            (9.35, -79.90),
            (12.00, -77.50),
            (18.00, -74.80),
            (20.00, -73.90),
            (30.00, -74.50),
            (38.50, -74.70),
            (39.20, -75.30),
            (39.90, -75.14),
        ],
    },
    Route {
        name: "CapeTown-Rotterdam",
        products: &["P06", "P05", "P01"],
        waypoints: &[
            (-33.90, 18.43),
            (-20.00, 8.00),
            (0.00, -5.00),
            (10.00, -20.00),
            (25.00, -20.00),
            (36.00, -12.00),
            (44.00, -11.00),
            (48.50, -6.00),
            (50.50, 0.00),
            (51.95, 4.05),
        ],
    },
    Route {
        name: "Agadir-Rotterdam",
        products: &["P05", "P01"],
        waypoints: &[
            (30.42, -9.64),
            (32.00, -11.00),
            (36.00, -11.00),
            (43.00, -10.00),
            (48.00, -6.00),
            (50.00, -1.00),
            (51.00, 1.50),
            (51.95, 4.05),
        ],
    },
    Route {
        name: "Antwerp-Singapore",
        products: &["P07", "P08"],
        waypoints: &[
            (51.30, 4.30),
            (51.40, 3.00),
            (50.00, -2.00),
            (48.00, -6.00),
            (43.00, -10.00),
            (36.50, -8.00),
            (35.95, -5.60),
            (37.50, 10.00),
            (33.00, 28.00),
            (31.30, 32.30),
            (29.90, 32.55),
            (27.00, 34.50),
            (20.00, 38.50),
            (12.60, 43.40),
            (12.00, 51.00),
            (9.00, 70.00),
            (6.00, 80.00),
            (5.80, 95.00),
            (3.00, 100.50),
            (1.26, 103.80),
        ],
    },
    Route {
        name: "Seattle-Busan",
        products: &["P06", "P08", "P07"],
        waypoints: &[
            (47.60, -122.35),
            (48.40, -124.70),
            (51.00, -140.00),
            (52.50, -165.00),
            (51.00, -185.00),
            (46.00, -202.00),
            (41.50, -219.50),
            (40.00, -226.00),
            (35.10, -230.95),
        ],
    },
    Route {
        name: "LosAngeles-Honolulu",
        products: &["P01", "P03", "P05"],
        waypoints: &[(33.73, -118.26), (33.20, -119.50), (21.30, -157.87)],
    },
];

/// Great-circle distance in kilometres.
pub fn haversine_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (lat1, lon1) = (a.0.to_radians(), a.1.to_radians());
    let (lat2, lon2) = (b.0.to_radians(), b.1.to_radians());
    let h = ((lat2 - lat1) / 2.0).sin().powi(2)
        + lat1.cos() * lat2.cos() * ((lon2 - lon1) / 2.0).sin().powi(2);
    2.0 * 6371.0 * h.sqrt().asin()
}

/// A route with cumulative distances, ready for position look-ups.
pub struct Track {
    pub points: Vec<(f64, f64)>,
    pub cumulative_km: Vec<f64>,
}

impl Track {
    pub fn new(route: &Route) -> Track {
        let points = route.waypoints.to_vec();
        let mut cumulative_km = vec![0.0];
        for w in points.windows(2) {
            let last = *cumulative_km.last().unwrap();
            cumulative_km.push(last + haversine_km(w[0], w[1]));
        }
        Track {
            points,
            cumulative_km,
        }
    }

    pub fn length_km(&self) -> f64 {
        *self.cumulative_km.last().unwrap()
    }

    /// Position at `km` along the track, starting the segment search at `*segment`
    /// (positions only move forward, so this is amortised O(1)).
    pub fn position(&self, km: f64, segment: &mut usize) -> (f64, f64) {
        let km = km.clamp(0.0, self.length_km());
        while *segment + 2 < self.cumulative_km.len() && self.cumulative_km[*segment + 1] < km {
            *segment += 1;
        }
        let (a, b) = (self.points[*segment], self.points[*segment + 1]);
        let (k0, k1) = (self.cumulative_km[*segment], self.cumulative_km[*segment + 1]);
        let f = if k1 > k0 { (km - k0) / (k1 - k0) } else { 0.0 };
        let lat = a.0 + (b.0 - a.0) * f;
        let mut lon = a.1 + (b.1 - a.1) * f;
        if lon < -180.0 {
            lon += 360.0;
        } else if lon > 180.0 {
            lon -= 360.0;
        }
        (lat, lon)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_digits_match_iso_6346() {
        // Published examples.
        assert_eq!(check_digit("CSQU305438"), Some(3));
        assert!(is_valid_container_id("MSKU1234565"));
        assert!(!is_valid_container_id("MSKU1234566"));
        assert!(!is_valid_container_id("MSKU123456"));
        assert_eq!(letter_value(b'A'), 10);
        assert_eq!(letter_value(b'K'), 21);
        assert_eq!(letter_value(b'L'), 23);
        assert_eq!(letter_value(b'V'), 34);
        assert_eq!(letter_value(b'Z'), 38);
    }

    #[test]
    fn ids_are_valid_and_distinct() {
        let ids: std::collections::HashSet<String> =
            (0..20_000).map(|i| container_id(i % 3, i, 4242)).collect();
        assert_eq!(ids.len(), 20_000);
        assert!(ids.iter().all(|id| is_valid_container_id(id)));
    }

    #[test]
    fn tracks_interpolate_and_wrap_the_date_line() {
        for r in ROUTES {
            let t = Track::new(r);
            assert!(t.length_km() > 1000.0, "{}", r.name);
            let mut seg = 0;
            let (lat, lon) = t.position(t.length_km() * 0.5, &mut seg);
            assert!((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon));
        }
    }
}
