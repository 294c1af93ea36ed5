//! The Alerts tab: desktop notifications and sounds, written to the `[alerts]` table of the config file.

use egui::Ui;

use crate::config::Config;
use crate::settings::{Edit, EditValue};

use super::desk::Desk;

/// The Alerts tab's state (none yet beyond the config itself).
#[derive(Debug, Default)]
pub struct AlertsTab {}

fn set_bool(desk: &Desk, key: &str, value: bool) {
    desk.edit(Edit::SetValue {
        table: Some("alerts".into()),
        key: key.into(),
        value: Some(EditValue::Bool(value)),
    });
}

impl AlertsTab {
    pub fn show(&mut self, ui: &mut Ui, desk: &Desk, config: &Config) {
        ui.heading("Alerts");
        let alerts = &config.alerts;
        let mut notifications = alerts.notifications;
        if ui
            .checkbox(&mut notifications, "Desktop notifications")
            .changed()
        {
            set_bool(desk, "notifications", notifications);
        }
        let mut sounds = alerts.sounds;
        if ui.checkbox(&mut sounds, "Sounds").changed() {
            set_bool(desk, "sounds", sounds);
        }
    }
}
