//! A threshold rule from a rules file: `when = "temperature > 18"` held
//! `for = "5m"` raises `fault` (any name) with `severity`. Fields are the
//! numeric and boolean fields of contract §1; a reading without the field is
//! neither a fault nor a clearance.

use super::{n, Ctx, Rule, Timing, Verdict};
use crate::detect::events::Severity;
use crate::detect::filter::Expr;
use serde_json::{Map, Value};

pub struct ThresholdRule {
    pub name: String,
    pub fault: String,
    pub when: Expr,
    pub when_text: String,
    pub severity: Severity,
    pub for_ms: i64,
    pub message: Option<String>,
}

impl Rule for ThresholdRule {
    fn name(&self) -> &str {
        &self.name
    }
    fn fault(&self) -> &str {
        &self.fault
    }
    fn severity(&self) -> Severity {
        self.severity
    }
    fn timing(&self) -> Timing {
        Timing {
            for_ms: self.for_ms,
            min_readings: 1,
            clear_ms: 0,
            clear_readings: 1,
        }
    }
    fn needs(&self) -> &'static str {
        "the fields named in `when`"
    }
    fn check(&self, ctx: &Ctx) -> Verdict {
        match self.when.test_obs(ctx.obs) {
            Some(true) => Verdict::fault(self.severity),
            Some(false) => Verdict::Clear,
            None => Verdict::Hold,
        }
    }
    fn describe(&self, ctx: &Ctx) -> (Map<String, Value>, String) {
        let mut ev = Map::new();
        for c in self.when.fields() {
            if let Some(v) = ctx.obs.field(&c.field) {
                ev.insert(c.field.clone(), n(Some(v)).unwrap_or(Value::Null));
            }
        }
        let msg = self.message.clone().unwrap_or_else(|| {
            format!(
                "{}: {} ({})",
                ctx.obs.container_id, self.name, self.when_text
            )
        });
        (ev, msg)
    }
    fn set_severity(&mut self, s: Severity) {
        self.severity = s;
    }
    fn as_threshold(&self) -> Option<&ThresholdRule> {
        Some(self)
    }
}
