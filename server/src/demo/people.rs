//! The demo's catalogue (regions, skills, parts), its accounts and the technicians' devices,
//! as data, and their creation through the same storage functions the admin API uses.

use sqlx::AnyConnection;
use sync_core::ids::UserId;
use sync_core::workorder::Role;

use crate::db::catalog::{self, Kind, Named, Part};
use crate::db::users::{self, UserRow};

/// Service regions: id and name.
pub const REGIONS: &[(&str, &str)] =
    &[("north", "North"), ("south", "South"), ("centre", "Centre")];

/// Skills: id and name.
pub const SKILLS: &[(&str, &str)] = &[
    ("washers", "Washing machines"),
    ("dishwashers", "Dishwashers"),
    ("fridges", "Refrigeration"),
    ("ovens", "Ovens and hobs"),
    ("aircon", "Air conditioning"),
];

/// The parts catalogue: SKU, name, price in cents.
pub const PARTS: &[(&str, &str, i64)] = &[
    ("PUMP-7", "Drain pump, 30 W", 4990),
    ("SEAL-3", "Door seal, front loader", 2450),
    ("BELT-12", "Drive belt 1192 J5", 1850),
    ("BEARING-KIT", "Drum bearing kit with seals", 6800),
    ("LOCK-4", "Door lock switch", 2990),
    ("HEAT-5", "Heating element, 2 kW", 3900),
    ("COMP-1", "Compressor start relay", 3200),
    ("FILTER-9", "Fine filter, dishwasher", 1290),
];

/// The price of `sku` in the catalogue.
pub fn price_of(sku: &str) -> Option<i64> {
    PARTS
        .iter()
        .find(|(s, _, _)| *s == sku)
        .map(|&(_, _, price)| price)
}

/// A demo account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Account {
    pub id: &'static str,
    pub role: Role,
    pub regions: &'static [&'static str],
    pub skills: &'static [&'static str],
    /// Open jobs a technician can hold at once (0 for office roles).
    pub capacity: i64,
}

const fn office(id: &'static str, role: Role, regions: &'static [&'static str]) -> Account {
    Account {
        id,
        role,
        regions,
        skills: &[],
        capacity: 0,
    }
}

const fn tech(
    id: &'static str,
    regions: &'static [&'static str],
    skills: &'static [&'static str],
    capacity: i64,
) -> Account {
    Account {
        id,
        role: Role::Technician,
        regions,
        skills,
        capacity,
    }
}

/// Every demo account (the admin is not one: it exists already).
pub const ACCOUNTS: &[Account] = &[
    office("agent-alex", Role::Agent, &[]),
    office("disp-north", Role::Dispatcher, &["north"]),
    office("disp-south", Role::Dispatcher, &["south", "centre"]),
    office("mgr-maria", Role::Manager, &[]),
    office("audit-olga", Role::Auditor, &[]),
    tech("tech-anna", &["north"], &["washers", "dishwashers"], 5),
    tech("tech-ben", &["north"], &["fridges", "aircon"], 4),
    tech("tech-carl", &["north", "centre"], &["ovens", "washers"], 4),
    tech("tech-dana", &["south"], &["washers", "fridges"], 5),
    tech("tech-emil", &["south"], &["dishwashers", "ovens"], 4),
    tech("tech-fay", &["centre"], &["aircon", "fridges"], 4),
    tech(
        "tech-gus",
        &["centre", "south"],
        &["washers", "dishwashers"],
        3,
    ),
];

/// The role of demo account `user`.
pub fn role_of(user: &str) -> Option<Role> {
    ACCOUNTS.iter().find(|a| a.id == user).map(|a| a.role)
}

/// A technician's phone or tablet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceDef {
    pub id: &'static str,
    pub user: &'static str,
    /// How far the device's clock is off (ms; + ahead).
    pub skew_ms: i64,
}

/// The technicians' devices. tech-ben has none: his phone never synced.
pub const DEVICES: &[DeviceDef] = &[
    DeviceDef {
        id: "tech-anna-phone",
        user: "tech-anna",
        skew_ms: 0,
    },
    DeviceDef {
        id: "tech-carl-phone",
        user: "tech-carl",
        skew_ms: 0,
    },
    DeviceDef {
        id: "tech-dana-phone",
        user: "tech-dana",
        skew_ms: 0,
    },
    // Two hours fast: its events arrive dated after the server received them.
    DeviceDef {
        id: "tech-emil-tablet",
        user: "tech-emil",
        skew_ms: 2 * 3_600_000,
    },
    DeviceDef {
        id: "tech-fay-phone",
        user: "tech-fay",
        skew_ms: 0,
    },
    DeviceDef {
        id: "tech-gus-phone",
        user: "tech-gus",
        skew_ms: 0,
    },
];

/// How an account's regions read in the printed list.
pub fn regions_text(a: &Account) -> String {
    if a.regions.is_empty() {
        "all regions".into()
    } else {
        a.regions.join(",")
    }
}

/// Creates the catalogue and every account (all with the password hashed as
/// `password_hash`), as the admin API stores them.
pub async fn create(conn: &mut AnyConnection, password_hash: &str, now: i64) -> anyhow::Result<()> {
    for (kind, list) in [(Kind::Regions, REGIONS), (Kind::Skills, SKILLS)] {
        for &(id, name) in list {
            let named = Named {
                id: id.into(),
                name: name.into(),
            };
            catalog::upsert_named(conn, kind, &named).await?;
        }
    }
    for &(sku, name, price_cents) in PARTS {
        let part = Part {
            sku: sku.into(),
            name: name.into(),
            price_cents,
            active: 1,
        };
        catalog::upsert_part(conn, &part, now).await?;
    }
    for a in ACCOUNTS {
        let id = UserId::parse(a.id)?;
        let row = UserRow {
            id: id.to_string(),
            role: a.role.as_str().into(),
            password_hash: password_hash.to_owned(),
            regions: serde_json::to_string(a.regions)?,
            skills: serde_json::to_string(a.skills)?,
            capacity: a.capacity,
            active: 1,
            created_at: now,
        };
        if !users::insert(conn, &row).await? {
            anyhow::bail!("user {} exists already", a.id);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_account_names_known_regions_and_skills_and_every_device_a_technician() {
        for a in ACCOUNTS {
            assert!(UserId::parse(a.id).is_ok(), "{}", a.id);
            for r in a.regions {
                assert!(REGIONS.iter().any(|(id, _)| id == r), "{}: {r}", a.id);
            }
            for s in a.skills {
                assert!(SKILLS.iter().any(|(id, _)| id == s), "{}: {s}", a.id);
            }
        }
        for d in DEVICES {
            assert_eq!(role_of(d.user), Some(Role::Technician), "{}", d.id);
        }
    }

    #[test]
    fn there_are_two_dispatchers_with_different_regions_and_every_office_role() {
        let dispatchers: Vec<&Account> = ACCOUNTS
            .iter()
            .filter(|a| a.role == Role::Dispatcher)
            .collect();
        assert_eq!(dispatchers.len(), 2);
        assert!(dispatchers[0]
            .regions
            .iter()
            .all(|r| !dispatchers[1].regions.contains(r)));
        for role in [Role::Agent, Role::Manager, Role::Auditor] {
            assert!(ACCOUNTS.iter().any(|a| a.role == role), "{role:?}");
        }
        let techs = ACCOUNTS
            .iter()
            .filter(|a| a.role == Role::Technician)
            .count();
        assert!((6..=8).contains(&techs));
    }
}
