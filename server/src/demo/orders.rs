//! What each demo work order's intake says: customer, product, problem, region and skills.
//! Names, numbers and addresses are made up.

use sync_core::workorder::{Customer, CustomerTier, Intake, Priority, Product, ServiceType};

/// One intake, compactly.
struct Order {
    wo: &'static str,
    region: &'static str,
    service: ServiceType,
    priority: Priority,
    tier: CustomerTier,
    skills: &'static [&'static str],
    /// Name, phone, address.
    customer: (&'static str, &'static str, &'static str),
    /// Model, serial, purchase date.
    product: (&'static str, &'static str, &'static str),
    problem: &'static str,
}

const fn order(
    wo: &'static str,
    region: &'static str,
    service: ServiceType,
    skills: &'static [&'static str],
    customer: (&'static str, &'static str, &'static str),
    product: (&'static str, &'static str, &'static str),
    problem: &'static str,
) -> Order {
    Order {
        wo,
        region,
        service,
        priority: Priority::Normal,
        tier: CustomerTier::Standard,
        skills,
        customer,
        product,
        problem,
    }
}

use ServiceType::{Complaint, Install, Maintenance, Repair};

#[rustfmt::skip]
const ORDERS: &[Order] = &[
    order("WO-1001", "south", Repair, &["washers"],
        ("Hanna Vogel", "+49 30 5550 1101", "Lindenallee 4, Südstadt"),
        ("WM-800", "WM8-2019-44120", "2019-05-02"),
        "Loud banging during the spin cycle"),
    order("WO-1002", "centre", Repair, &["ovens"],
        ("Peter Brandt", "+49 30 5550 1102", "Marktplatz 9, Mitte"),
        ("OV-60 Pro", "OV6-2018-11873", "2018-11-20"),
        "Oven stays cold; the top heat works"),
    order("WO-1003", "north", Maintenance, &["dishwashers"],
        ("Jonas Weber", "+49 30 5550 1103", "Birkenweg 12, Nordheim"),
        ("DW-45 Slim", "DW4-2021-03341", "2021-02-11"),
        "Yearly maintenance; glasses come out cloudy"),
    order("WO-1004", "south", Repair, &["dishwashers"],
        ("Ayşe Demir", "+49 30 5550 1104", "Hafenstraße 31, Südstadt"),
        ("DW-60 Eco", "DW6-2020-77310", "2020-07-30"),
        "Dishes come out cold and wet"),
    order("WO-1005", "centre", Install, &["washers"],
        ("Familie Nowak", "+49 30 5550 1105", "Schillerplatz 2, Mitte"),
        ("WD-900 Stack", "WD9-2025-00417", "2025-11-28"),
        "Install a washer-dryer stack; old washer to be taken away"),
    order("WO-1006", "north", Repair, &["washers"],
        ("Maria Keller", "+49 30 5550 1106", "Ahornstraße 7, Nordheim"),
        ("WM-800", "WM8-2022-90215", "2022-09-14"),
        "Washing machine does not drain; water stands in the drum"),
    order("WO-1007", "centre", Maintenance, &["aircon"],
        ("Bäckerei Sommer", "+49 30 5550 1107", "Brunnengasse 1, Mitte"),
        ("AC-3500 Split", "AC3-2021-55902", "2021-04-06"),
        "Yearly service of the split air conditioner in the shop"),
    order("WO-1008", "centre", Repair, &["washers"],
        ("Lukas Hoffmann", "+49 30 5550 1108", "Gartenstraße 15, Mitte"),
        ("WM-700", "WM7-2017-31877", "2017-03-09"),
        "Washing machine stops with error F05"),
    order("WO-1009", "north", Repair, &["dishwashers"],
        ("Sofia Richter", "+49 30 5550 1109", "Eichenring 3, Nordheim"),
        ("DW-60 Eco", "DW6-2023-12094", "2023-01-17"),
        "Detergent tab does not dissolve, dishes dirty"),
    order("WO-1010", "south", Repair, &["fridges"],
        ("Emre Yilmaz", "+49 30 5550 1110", "Werftstraße 8, Südstadt"),
        ("FR-340 NoFrost", "FR3-2020-60041", "2020-06-22"),
        "Freezer ices up within two days"),
    order("WO-1011", "north", Repair, &["washers"],
        ("Clara Schmitt", "+49 30 5550 1111", "Tannenweg 21, Nordheim"),
        ("WM-850", "WM8-2021-18830", "2021-08-03"),
        "Water leaks from the door during washing"),
    order("WO-1012", "south", Repair, &["dishwashers"],
        ("Nils Petersen", "+49 30 5550 1112", "Am Kai 5, Südstadt"),
        ("DW-45 Slim", "DW4-2019-50872", "2019-10-10"),
        "Dishwasher shows E24: water is not pumped out"),
    order("WO-1013", "centre", Repair, &["fridges"],
        ("Greta Lange", "+49 30 5550 1113", "Rathausstraße 12, Mitte"),
        ("FR-500 Side", "FR5-2018-22954", "2018-12-01"),
        "Fridge compressor clicks, nothing cools"),
    order("WO-1014", "south", Repair, &["washers"],
        ("Tom Becker", "+49 30 5550 1114", "Möwenweg 2, Südstadt"),
        ("WM-700", "WM7-2020-70193", "2020-02-28"),
        "Washing machine stops mid-cycle, door stays locked"),
    order("WO-1015", "centre", Repair, &["ovens"],
        ("Ida Wolf", "+49 30 5550 1115", "Kirchplatz 6, Mitte"),
        ("OV-60 Pro", "OV6-2022-08812", "2022-05-19"),
        "Oven does not heat, display shows E3"),
    order("WO-1016", "north", Maintenance, &["aircon"],
        ("Praxis Dr. Krüger", "+49 30 5550 1116", "Lindenplatz 1, Nordheim"),
        ("AC-5000 Multi", "AC5-2020-31125", "2020-05-15"),
        "Yearly service of two air-conditioning units in the surgery"),
    order("WO-1017", "south", Complaint, &["washers"],
        ("Karin Schulz", "+49 30 5550 1117", "Deichstraße 40, Südstadt"),
        ("WM-900", "WM9-2025-11208", "2025-11-20"),
        "Complaint: the installer scratched the kitchen floor and left the old machine in the hall"),
    order("WO-1018", "north", Repair, &["washers"],
        ("Felix Braun", "+49 30 5550 1118", "Kastanienallee 19, Nordheim"),
        ("WM-800", "WM8-2020-65590", "2020-10-01"),
        "Drum does not turn; smells burnt"),
    Order {
        priority: Priority::Urgent,
        ..order("WO-1019", "south", Repair, &["aircon"],
            ("Seniorenheim Abendrot", "+49 30 5550 1119", "Strandweg 77, Südstadt"),
            ("AC-9000 Central", "AC9-2016-00031", "2016-06-01"),
            "Air conditioning failed in the care home; 31 °C in the residents' rooms")
    },
    order("WO-1020", "north", Install, &["washers"],
        ("Anton Fischer", "+49 30 5550 1120", "Lärchenweg 4, Nordheim"),
        ("WM-900", "WM9-2025-13377", "2025-12-01"),
        "Install a new washing machine; take the old one away"),
    order("WO-1021", "north", Repair, &["fridges"],
        ("Lea Zimmermann", "+49 30 5550 1121", "Pappelstraße 10, Nordheim"),
        ("FR-340 NoFrost", "FR3-2022-81236", "2022-03-30"),
        "Fridge is warm, the freezer works"),
    order("WO-1022", "north", Complaint, &["dishwashers"],
        ("Jonas Weber", "+49 30 5550 1103", "Birkenweg 12, Nordheim"),
        ("DW-45 Slim", "DW4-2021-03341", "2021-02-11"),
        "Complaint: after yesterday's maintenance the floor was left wet and dirty"),
    order("WO-1023", "north", Repair, &["dishwashers"],
        ("Paula Krause", "+49 30 5550 1123", "Buchenstraße 28, Nordheim"),
        ("DW-60 Eco", "DW6-2024-40218", "2024-04-02"),
        "White residue on all dishes"),
    Order {
        priority: Priority::Vip,
        tier: CustomerTier::Vip,
        ..order("WO-1024", "centre", Repair, &["ovens"],
            ("Hotel Zur Post", "+49 30 5550 1124", "Poststraße 1, Mitte"),
            ("OV-90 Combi", "OV9-2023-00902", "2023-09-09"),
            "Combi steamer in the hotel kitchen does not heat; dinner service at 6 pm")
    },
];

/// Every demo work order id, in intake order.
pub fn ids() -> impl Iterator<Item = &'static str> {
    ORDERS.iter().map(|o| o.wo)
}

/// The intake of demo work order `wo`.
pub fn intake(wo: &str) -> Option<Intake> {
    let o = ORDERS.iter().find(|o| o.wo == wo)?;
    Some(Intake {
        customer: Customer {
            name: o.customer.0.into(),
            phone: o.customer.1.into(),
            address: o.customer.2.into(),
            tier: o.tier,
        },
        product: Product {
            model: o.product.0.into(),
            serial: o.product.1.into(),
            purchase_date: o.product.2.into(),
        },
        service_type: o.service,
        problem: o.problem.into(),
        priority: o.priority,
        required_skills: o.skills.iter().map(|s| (*s).to_owned()).collect(),
        region: o.region.into(),
        attachments: vec![],
        site: None,
    })
}
