//! What each product of the catalog is, physically: the cargo a 40' box
//! carries, how much heat it makes, what atmosphere it travels in, and the
//! unit that carries it. Numbers with a published source say so beside them;
//! the others are the model's own round values (README, realism table).

/// Physical traits of a product's load and the unit that carries it.
#[derive(Debug, Clone, Copy)]
pub struct ProductModel {
    pub id: &'static str,
    pub setpoint: f64,
    /// Cargo in a full 40' box, kg (a reefer carries around 25 t: TIS/GDV,
    /// "Refrigerated and insulated containers"; light loads such as lettuce less).
    pub cargo_kg: f64,
    /// Specific heat of the cargo with its packaging, J/(kg·K) (model values:
    /// fresh produce about 3.3–4 kJ/(kg·K), frozen about 1.8).
    pub cargo_cp: f64,
    /// Respiration heat at the carrying temperature, W per tonne (model values).
    pub respiration_w_per_t: f64,
    /// In a sealed box, respiration uses this much O2 (and makes as much CO2),
    /// % of the box atmosphere per hour, at the CA setpoint (model values).
    pub respiration_gas_per_h: f64,
    /// Relative humidity the box settles at, %.
    pub humidity: f64,
    /// Controlled-atmosphere setpoints (O2 %, CO2 %), if the product travels under CA.
    /// Bananas 3/5 and avocados 3.5/6 lie inside the ranges the issue quotes from
    /// Carrier's CA guide (bananas 2–5 % O2 / 2–5 % CO2); Chiquita's EverFresh
    /// banana shipments ran at 5 % O2 / 4 % CO2 (Global Cold Chain News, 2020).
    pub ca: Option<(f64, f64)>,
    /// How much the load's respiration moves O2/CO2 away from air in a vented box, %.
    pub vented_gas: f64,
    /// Heat leak of the insulated box, W/K: 44 W/K is a 40' box's measured
    /// K·A (38.13 kcal/(h·°C) = 44.3 W/K, CINS Tech cooling-performance test,
    /// 2021; the issue quotes ≈ 44 W/K). Super-freezer boxes are thicker (model value).
    pub heat_leak_w_per_k: f64,
    /// Refrigerating capacity at the setpoint with a 30 °C ambient, W (model values;
    /// container units use 5–12 kW compressors, ingener.by "Refrigerated cargo containers").
    pub capacity_w: f64,
    /// Compressor (with condenser fan) draw at full duty with a 30 °C ambient, kW.
    pub compressor_kw: f64,
    /// Compressor running hours with the coil below +10 °C between two defrosts
    /// (Carrier PrimeLINE manual §4.3.21: the defrost timer runs only while the
    /// defrost sensor reads below 10 °C and the compressor runs; intervals 3, 6, 9,
    /// 12, 24 h; Container Handbook §7.2.7.3: every six, eight or twelve hours).
    pub defrost_every_h: f64,
}

impl ProductModel {
    /// Frozen cargo: return-air on/off control with fans at low speed.
    pub fn frozen(&self) -> bool {
        self.setpoint <= -10.0
    }

    /// Heat capacity of the load, J/K.
    pub fn load_heat_capacity(&self) -> f64 {
        self.cargo_kg * self.cargo_cp
    }

    /// Respiration heat of the whole load, W.
    pub fn respiration_w(&self) -> f64 {
        self.respiration_w_per_t * self.cargo_kg / 1000.0
    }
}

pub const PRODUCT_MODELS: [ProductModel; 8] = [
    ProductModel {
        id: "P01",
        setpoint: 0.0,
        cargo_kg: 22_000.0,
        cargo_cp: 3_800.0,
        respiration_w_per_t: 20.0,
        respiration_gas_per_h: 0.0,
        humidity: 95.0,
        ca: None,
        vented_gas: 0.4,
        heat_leak_w_per_k: 44.0,
        capacity_w: 9_000.0,
        compressor_kw: 6.5,
        defrost_every_h: 12.0,
    },
    ProductModel {
        id: "P02",
        setpoint: 13.3,
        cargo_kg: 20_000.0,
        cargo_cp: 3_350.0,
        respiration_w_per_t: 75.0,
        respiration_gas_per_h: 0.25,
        humidity: 90.0,
        ca: Some((3.0, 5.0)),
        vented_gas: 0.8,
        heat_leak_w_per_k: 44.0,
        capacity_w: 9_000.0,
        compressor_kw: 6.5,
        defrost_every_h: 12.0,
    },
    ProductModel {
        id: "P03",
        setpoint: 0.0,
        cargo_kg: 10_000.0,
        cargo_cp: 4_000.0,
        respiration_w_per_t: 25.0,
        respiration_gas_per_h: 0.0,
        humidity: 96.0,
        ca: None,
        vented_gas: 0.5,
        heat_leak_w_per_k: 44.0,
        capacity_w: 9_000.0,
        compressor_kw: 6.5,
        defrost_every_h: 12.0,
    },
    ProductModel {
        id: "P04",
        setpoint: 6.0,
        cargo_kg: 20_000.0,
        cargo_cp: 3_300.0,
        respiration_w_per_t: 60.0,
        respiration_gas_per_h: 0.2,
        humidity: 90.0,
        ca: Some((3.5, 6.0)),
        vented_gas: 0.7,
        heat_leak_w_per_k: 44.0,
        capacity_w: 9_000.0,
        compressor_kw: 6.5,
        defrost_every_h: 12.0,
    },
    ProductModel {
        id: "P05",
        setpoint: 13.0,
        cargo_kg: 20_000.0,
        cargo_cp: 3_900.0,
        respiration_w_per_t: 40.0,
        respiration_gas_per_h: 0.0,
        humidity: 90.0,
        ca: None,
        vented_gas: 0.6,
        heat_leak_w_per_k: 44.0,
        capacity_w: 9_000.0,
        compressor_kw: 6.5,
        defrost_every_h: 12.0,
    },
    ProductModel {
        id: "P06",
        setpoint: -20.0,
        cargo_kg: 25_000.0,
        cargo_cp: 1_800.0,
        respiration_w_per_t: 0.0,
        respiration_gas_per_h: 0.0,
        humidity: 80.0,
        ca: None,
        vented_gas: 0.0,
        heat_leak_w_per_k: 44.0,
        capacity_w: 5_500.0,
        compressor_kw: 9.5,
        defrost_every_h: 8.0,
    },
    ProductModel {
        id: "P07",
        setpoint: 5.0,
        cargo_kg: 8_000.0,
        cargo_cp: 2_000.0,
        respiration_w_per_t: 0.0,
        respiration_gas_per_h: 0.0,
        humidity: 55.0,
        ca: None,
        vented_gas: 0.0,
        heat_leak_w_per_k: 44.0,
        capacity_w: 9_000.0,
        compressor_kw: 6.5,
        defrost_every_h: 12.0,
    },
    ProductModel {
        id: "P08",
        setpoint: -70.0,
        cargo_kg: 5_000.0,
        cargo_cp: 1_500.0,
        respiration_w_per_t: 0.0,
        respiration_gas_per_h: 0.0,
        humidity: 40.0,
        ca: None,
        vented_gas: 0.0,
        heat_leak_w_per_k: 30.0,
        capacity_w: 4_500.0,
        compressor_kw: 10.0,
        defrost_every_h: 24.0,
    },
];

/// Mix of products in a typical reefer fleet (weights).
pub const PRODUCT_WEIGHTS: [f64; 8] = [10.0, 25.0, 10.0, 15.0, 10.0, 15.0, 10.0, 5.0];
