//! The demo shop's catalog: a category tree and 1,000 products of a shop
//! that sells and rents refurbished hardware. Fully deterministic: every
//! choice comes from the product's index through `mix`, so two calls (and
//! two machines) produce the same rows, handles and SKUs.

use std::collections::HashSet;

use storekeep_domain::{
    Handle, ImportRow, ImportVariant, Money, NewVariant, ProductStatus, Sku, parse_tag,
};

/// How many products `products` makes.
pub const PRODUCT_COUNT: usize = 1_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoCategory {
    pub handle: Handle,
    pub name: String,
    pub parent: Option<Handle>,
}

/// (handle, name, parent handle); parents come before their children.
#[rustfmt::skip]
const CATEGORIES: &[(&str, &str, Option<&str>)] = &[
    ("laptops", "Laptops", None), ("business-laptops", "Business laptops", Some("laptops")),
    ("ultrabooks", "Ultrabooks", Some("laptops")), ("gaming-laptops", "Gaming laptops", Some("laptops")),
    ("phones", "Phones", None), ("iphone", "iPhone", Some("phones")), ("android", "Android phones", Some("phones")),
    ("tablets", "Tablets", None), ("ipad", "iPad", Some("tablets")), ("android-tablets", "Android tablets", Some("tablets")),
    ("monitors", "Monitors", None),
    ("desktops", "Desktops", None), ("mini-pcs", "Mini PCs", Some("desktops")), ("workstations", "Workstations", Some("desktops")),
    ("accessories", "Accessories", None), ("docks", "Docking stations", Some("accessories")),
    ("keyboards", "Keyboards", Some("accessories")), ("mice", "Mice", Some("accessories")),
    ("chargers", "Chargers", Some("accessories")), ("cables", "Cables and adapters", Some("accessories")),
    ("bags", "Bags and sleeves", Some("accessories")),
];

pub fn categories() -> Vec<DemoCategory> {
    CATEGORIES
        .iter()
        .map(|(handle, name, parent)| DemoCategory {
            handle: Handle::parse(handle).expect("demo category handles are valid"),
            name: (*name).to_owned(),
            parent: parent.map(|p| Handle::parse(p).expect("demo category handles are valid")),
        })
        .collect()
}

#[rustfmt::skip]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind { Laptop, Desktop, Phone, Tablet, Monitor, Accessory }
use Kind::{Accessory, Desktop, Laptop, Monitor, Phone, Tablet};

/// (kind, category handles, brand, model, spec, trims, base price in
/// minor units). Trims ('|'-separated) are the CPU of a computer, the
/// colour of a phone, the storage of a tablet, the option of an accessory;
/// they are listed cheapest first. The base price is the cheapest
/// configuration in Grade A.
type Row = (
    Kind,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    i64,
);
#[rustfmt::skip]
const MODELS: &[Row] = &[
    (Laptop, "business-laptops", "Lenovo", "ThinkPad T480", "14\" Full HD IPS", "Intel Core i5-8250U|Intel Core i5-8350U|Intel Core i7-8650U", 32900),
    (Laptop, "business-laptops", "Lenovo", "ThinkPad T490", "14\" Full HD IPS", "Intel Core i5-8265U|Intel Core i5-8365U|Intel Core i7-8665U", 37900),
    (Laptop, "business-laptops", "Lenovo", "ThinkPad T14 Gen 1", "14\" Full HD IPS", "Intel Core i5-10210U|Intel Core i5-10310U|AMD Ryzen 5 PRO 4650U", 45900),
    (Laptop, "business-laptops ultrabooks", "Lenovo", "ThinkPad T14s Gen 2", "14\" Full HD IPS", "Intel Core i5-1135G7|Intel Core i7-1185G7", 58900),
    (Laptop, "business-laptops ultrabooks", "Lenovo", "ThinkPad X1 Carbon Gen 6", "14\" WQHD IPS", "Intel Core i5-8250U|Intel Core i7-8550U|Intel Core i7-8650U", 42900),
    (Laptop, "business-laptops ultrabooks", "Lenovo", "ThinkPad X1 Carbon Gen 9", "14\" WUXGA IPS", "Intel Core i5-1145G7|Intel Core i7-1165G7|Intel Core i7-1185G7", 79900),
    (Laptop, "business-laptops", "Lenovo", "ThinkPad X280", "12.5\" Full HD IPS", "Intel Core i5-8250U|Intel Core i5-8350U", 27900),
    (Laptop, "business-laptops", "Lenovo", "ThinkPad L14 Gen 1", "14\" Full HD", "Intel Core i5-10210U|AMD Ryzen 5 PRO 4650U", 36900),
    (Laptop, "business-laptops", "Dell", "Latitude 7490", "14\" Full HD IPS", "Intel Core i5-8350U|Intel Core i7-8650U", 32900),
    (Laptop, "business-laptops", "Dell", "Latitude 5400", "14\" Full HD", "Intel Core i5-8265U|Intel Core i5-8365U", 31900),
    (Laptop, "business-laptops", "Dell", "Latitude 7410", "14\" Full HD IPS", "Intel Core i5-10310U|Intel Core i7-10610U", 47900),
    (Laptop, "business-laptops", "Dell", "Latitude 5520", "15.6\" Full HD", "Intel Core i5-1135G7|Intel Core i5-1145G7|Intel Core i7-1185G7", 52900),
    (Laptop, "business-laptops", "HP", "EliteBook 840 G5", "14\" Full HD IPS", "Intel Core i5-8250U|Intel Core i5-8350U|Intel Core i7-8650U", 31900),
    (Laptop, "business-laptops", "HP", "EliteBook 840 G7", "14\" Full HD IPS", "Intel Core i5-10210U|Intel Core i5-10310U|Intel Core i7-10610U", 46900),
    (Laptop, "business-laptops", "HP", "EliteBook 850 G6", "15.6\" Full HD IPS", "Intel Core i5-8265U|Intel Core i7-8665U", 41900),
    (Laptop, "business-laptops", "HP", "ProBook 450 G8", "15.6\" Full HD", "Intel Core i5-1135G7|Intel Core i7-1165G7", 42900),
    (Laptop, "business-laptops", "Fujitsu", "Lifebook U749", "14\" Full HD", "Intel Core i5-8265U|Intel Core i5-8365U", 28900),
    (Laptop, "business-laptops ultrabooks", "HP", "EliteBook x360 1030 G3", "13.3\" Full HD touch", "Intel Core i5-8250U|Intel Core i7-8650U", 39900),
    (Laptop, "ultrabooks", "Apple", "MacBook Air 13\" M1 2020", "13.3\" Retina IPS", "Apple M1 7-core GPU|Apple M1 8-core GPU", 64900),
    (Laptop, "ultrabooks", "Apple", "MacBook Pro 13\" M1 2020", "13.3\" Retina IPS", "Apple M1 8-core GPU", 79900),
    (Laptop, "ultrabooks", "Apple", "MacBook Pro 14\" 2021", "14.2\" Liquid Retina XDR", "Apple M1 Pro 8-core|Apple M1 Pro 10-core", 139900),
    (Laptop, "ultrabooks", "Apple", "MacBook Air 13\" 2019", "13.3\" Retina IPS", "Intel Core i5-8210Y", 39900),
    (Laptop, "ultrabooks", "Dell", "XPS 13 9310", "13.4\" FHD+ IPS", "Intel Core i5-1135G7|Intel Core i7-1165G7", 59900),
    (Laptop, "ultrabooks", "Dell", "XPS 13 9370", "13.3\" 4K UHD touch", "Intel Core i5-8250U|Intel Core i7-8550U", 44900),
    (Laptop, "ultrabooks", "Microsoft", "Surface Laptop 3", "13.5\" PixelSense touch", "Intel Core i5-1035G7|Intel Core i7-1065G7", 49900),
    (Laptop, "gaming-laptops", "Lenovo", "Legion 5 15ACH6H", "15.6\" Full HD 165 Hz", "AMD Ryzen 5 5600H, RTX 3060|AMD Ryzen 7 5800H, RTX 3060", 84900),
    (Laptop, "gaming-laptops", "Dell", "G15 5511", "15.6\" Full HD 120 Hz", "Intel Core i5-11400H, RTX 3050 Ti|Intel Core i7-11800H, RTX 3050 Ti", 69900),
    (Laptop, "gaming-laptops", "HP", "Omen 15", "15.6\" Full HD 144 Hz", "Intel Core i7-9750H, RTX 2060|Intel Core i7-10750H, RTX 2070", 74900),
    (Laptop, "gaming-laptops", "ASUS", "ROG Strix G15", "15.6\" Full HD 144 Hz", "AMD Ryzen 7 4800H, RTX 3060|AMD Ryzen 9 5900HX, RTX 3070", 89900),
    (Laptop, "gaming-laptops", "MSI", "GF65 Thin", "15.6\" Full HD 144 Hz", "Intel Core i5-10500H, RTX 3060|Intel Core i7-10750H, RTX 3060", 64900),
    (Desktop, "mini-pcs", "Lenovo", "ThinkCentre M720q Tiny", "one-litre tiny case", "Intel Core i5-8400T|Intel Core i5-8500T|Intel Core i7-8700T", 21900),
    (Desktop, "mini-pcs", "Dell", "OptiPlex 7070 Micro", "micro form factor case", "Intel Core i5-9500T|Intel Core i7-9700T", 26900),
    (Desktop, "mini-pcs", "HP", "EliteDesk 800 G4 Mini", "mini form factor case", "Intel Core i5-8500T|Intel Core i7-8700T", 22900),
    (Desktop, "mini-pcs", "Apple", "Mac mini 2020", "compact aluminium case", "Apple M1 8-core GPU", 54900),
    (Desktop, "workstations", "Dell", "Precision 3640 Tower", "tower with an NVIDIA Quadro P2200", "Intel Core i7-10700|Intel Xeon W-1250", 79900),
    (Desktop, "workstations", "HP", "Z4 G4 Workstation", "tower with an NVIDIA Quadro P4000", "Intel Xeon W-2133|Intel Xeon W-2145", 99900),
    (Desktop, "workstations", "Lenovo", "ThinkStation P330 Tower", "tower with an NVIDIA Quadro P1000", "Intel Core i7-8700|Intel Xeon E-2174G", 69900),
    (Desktop, "desktops", "Dell", "OptiPlex 7060 SFF", "small form factor case", "Intel Core i5-8500|Intel Core i7-8700", 24900),
    (Desktop, "desktops", "HP", "ProDesk 600 G5 SFF", "small form factor case", "Intel Core i5-9500|Intel Core i7-9700", 27900),
    (Phone, "iphone", "Apple", "iPhone 11", "6.1\" Liquid Retina LCD and the A13 Bionic chip", "Black|White|Purple|Red", 29900),
    (Phone, "iphone", "Apple", "iPhone 12", "6.1\" Super Retina XDR OLED and the A14 Bionic chip", "Black|White|Blue|Green|Red", 39900),
    (Phone, "iphone", "Apple", "iPhone 12 mini", "5.4\" Super Retina XDR OLED and the A14 Bionic chip", "Black|White|Blue", 32900),
    (Phone, "iphone", "Apple", "iPhone 12 Pro", "6.1\" Super Retina XDR OLED and the A14 Bionic chip", "Graphite|Silver|Gold|Pacific Blue", 52900),
    (Phone, "iphone", "Apple", "iPhone 13", "6.1\" Super Retina XDR OLED and the A15 Bionic chip", "Midnight|Starlight|Blue|Pink", 49900),
    (Phone, "iphone", "Apple", "iPhone 13 Pro", "6.1\" ProMotion OLED and the A15 Bionic chip", "Graphite|Silver|Sierra Blue|Gold", 67900),
    (Phone, "iphone", "Apple", "iPhone SE 2020", "4.7\" Retina HD LCD and the A13 Bionic chip", "Black|White|Red", 17900),
    (Phone, "android", "Samsung", "Galaxy S21", "6.2\" Dynamic AMOLED 120 Hz and an Exynos 2100", "Phantom Gray|Phantom White|Phantom Violet", 34900),
    (Phone, "android", "Samsung", "Galaxy S21 Ultra", "6.8\" Dynamic AMOLED 120 Hz and an Exynos 2100", "Phantom Black|Phantom Silver", 54900),
    (Phone, "android", "Samsung", "Galaxy S20 FE", "6.5\" Super AMOLED 120 Hz and a Snapdragon 865", "Cloud Navy|Cloud Mint|Cloud Red", 24900),
    (Phone, "android", "Samsung", "Galaxy A52", "6.5\" Super AMOLED 90 Hz and a Snapdragon 720G", "Awesome Black|Awesome Blue", 18900),
    (Phone, "android", "Google", "Pixel 6", "6.4\" OLED 90 Hz and the Google Tensor chip", "Stormy Black|Sorta Seafoam|Kinda Coral", 32900),
    (Phone, "android", "Google", "Pixel 6 Pro", "6.7\" LTPO OLED 120 Hz and the Google Tensor chip", "Stormy Black|Cloudy White", 44900),
    (Phone, "android", "Google", "Pixel 5", "6.0\" OLED 90 Hz and a Snapdragon 765G", "Just Black|Sorta Sage", 23900),
    (Phone, "android", "OnePlus", "9 Pro", "6.7\" Fluid AMOLED 120 Hz and a Snapdragon 888", "Morning Mist|Pine Green", 37900),
    (Tablet, "ipad", "Apple", "iPad 9th gen 2021", "10.2\" Retina display and the A13 Bionic chip", "64 GB|256 GB", 24900),
    (Tablet, "ipad", "Apple", "iPad Air 4th gen", "10.9\" Liquid Retina display and the A14 Bionic chip", "64 GB|256 GB", 39900),
    (Tablet, "ipad", "Apple", "iPad Pro 11\" 2020", "11\" Liquid Retina 120 Hz display and the A12Z Bionic chip", "128 GB|256 GB|512 GB", 54900),
    (Tablet, "ipad", "Apple", "iPad mini 5", "7.9\" Retina display and the A12 Bionic chip", "64 GB|256 GB", 27900),
    (Tablet, "android-tablets", "Samsung", "Galaxy Tab S7", "11\" 120 Hz display and a Snapdragon 865+", "128 GB|256 GB", 39900),
    (Tablet, "android-tablets", "Samsung", "Galaxy Tab S6 Lite", "10.4\" TFT display and an Exynos 9611", "64 GB|128 GB", 19900),
    (Tablet, "android-tablets", "Lenovo", "Tab P11", "11\" 2K IPS display and a Snapdragon 662", "64 GB|128 GB", 16900),
    (Tablet, "tablets ultrabooks", "Microsoft", "Surface Pro 7", "12.3\" PixelSense touch display and an Intel Core i5-1035G4", "128 GB|256 GB", 44900),
    (Monitor, "monitors", "Dell", "UltraSharp U2719D", "27\" QHD IPS", "27\"", 21900),
    (Monitor, "monitors", "Dell", "UltraSharp U2419H", "24\" Full HD IPS", "24\"", 13900),
    (Monitor, "monitors", "Dell", "UltraSharp U2720Q", "27\" 4K UHD IPS with 90 W USB-C", "27\"", 34900),
    (Monitor, "monitors", "Dell", "P2419H", "24\" Full HD IPS", "24\"", 10900),
    (Monitor, "monitors", "HP", "EliteDisplay E243", "23.8\" Full HD IPS", "24\"", 10900),
    (Monitor, "monitors", "HP", "Z27n G2", "27\" QHD IPS with USB-C", "27\"", 22900),
    (Monitor, "monitors", "Lenovo", "ThinkVision T24i-10", "23.8\" Full HD IPS", "24\"", 11900),
    (Monitor, "monitors", "Lenovo", "ThinkVision P27h-20", "27\" QHD IPS with USB-C", "27\"", 23900),
    (Monitor, "monitors", "LG", "27UL850-W", "27\" 4K UHD IPS with 60 W USB-C", "27\"", 27900),
    (Monitor, "monitors", "Samsung", "S24R650", "24\" Full HD IPS", "24\"", 9900),
    (Monitor, "monitors", "EIZO", "FlexScan EV2456", "24.1\" WUXGA IPS", "24\"", 16900),
    (Monitor, "monitors", "BenQ", "GW2780", "27\" Full HD IPS", "27\"", 11900),
    (Monitor, "monitors", "Philips", "272B7QPJEB", "27\" QHD IPS", "27\"", 15900),
    (Monitor, "monitors", "ASUS", "ProArt PA278QV", "27\" QHD IPS, 100% sRGB", "27\"", 24900),
    (Accessory, "docks", "Lenovo", "ThinkPad USB-C Dock Gen 2", "One USB-C cable for two 4K displays, Ethernet and five USB ports", "90 W adapter|135 W adapter", 8900),
    (Accessory, "docks", "Lenovo", "ThinkPad Thunderbolt 3 Dock Gen 2", "Thunderbolt 3 to two 4K displays, Ethernet and five USB ports", "135 W adapter|170 W adapter", 12900),
    (Accessory, "docks", "Dell", "WD19 USB-C Dock", "USB-C to HDMI, two DisplayPorts, Ethernet and four USB ports", "130 W|180 W", 9900),
    (Accessory, "docks", "Dell", "WD19TB Thunderbolt Dock", "Thunderbolt 3 to two 4K displays at 60 Hz", "180 W", 13900),
    (Accessory, "docks", "HP", "USB-C Dock G5", "USB-C to two displays, Ethernet and four USB ports", "120 W adapter", 9900),
    (Accessory, "docks", "HP", "Thunderbolt Dock G2", "Thunderbolt 3 to two 4K displays with up to 100 W charging", "120 W adapter|230 W adapter", 12900),
    (Accessory, "keyboards", "Logitech", "MX Keys", "Backlit wireless keyboard, Bluetooth or USB receiver", "US layout|UK layout|German layout|Nordic layout", 6900),
    (Accessory, "keyboards", "Logitech", "K120", "Full-size wired USB keyboard", "US layout|UK layout|German layout", 999),
    (Accessory, "keyboards", "Lenovo", "ThinkPad TrackPoint Keyboard II", "Wireless ThinkPad keyboard with TrackPoint", "US layout|UK layout|German layout", 6900),
    (Accessory, "keyboards", "Apple", "Magic Keyboard", "Rechargeable Bluetooth keyboard", "US layout|UK layout|German layout", 5900),
    (Accessory, "keyboards", "Dell", "KB216", "Quiet full-size wired USB keyboard", "US layout|UK layout|German layout|Nordic layout", 1299),
    (Accessory, "mice", "Logitech", "MX Master 3", "Wireless mouse with MagSpeed scroll wheel", "Graphite|Mid Grey", 6900),
    (Accessory, "mice", "Logitech", "M720 Triathlon", "Wireless mouse for up to three devices", "Black", 2900),
    (Accessory, "mice", "Microsoft", "Surface Arc Mouse", "Flat-folding Bluetooth mouse", "Black|Light Grey", 4900),
    (Accessory, "mice", "Apple", "Magic Mouse 2", "Rechargeable multi-touch Bluetooth mouse", "White|Space Grey", 4900),
    (Accessory, "mice", "Dell", "MS116", "Wired optical USB mouse", "Black", 599),
    (Accessory, "chargers", "Lenovo", "65 W USB-C Charger", "USB-C Power Delivery charger for ThinkPads", "standard|slim", 1999),
    (Accessory, "chargers", "Dell", "90 W Charger", "Barrel charger with a 7.4 mm plug for Latitude laptops", "7.4 mm plug", 2499),
    (Accessory, "chargers", "Apple", "61 W USB-C Power Adapter", "USB-C charger for MacBook Air and MacBook Pro 13\"", "EU plug", 3900),
    (Accessory, "chargers", "HP", "65 W Smart Charger", "Barrel charger with a 4.5 mm plug for EliteBooks", "4.5 mm plug", 1999),
    (Accessory, "chargers cables", "Anker", "PowerPort III 65 W", "Compact GaN USB-C charger with a USB-C cable", "Black|White", 2999),
    (Accessory, "cables", "Anker", "USB-C to USB-C Cable", "100 W USB-C cable with USB 2.0 data", "0.9 m|1.8 m|3 m", 999),
    (Accessory, "cables", "Apple", "USB-C to Lightning Cable", "Fast-charging cable for iPhone and iPad", "1 m|2 m", 1499),
    (Accessory, "cables", "Belkin", "DisplayPort Cable", "DisplayPort 1.4 cable for 4K at 60 Hz", "1.8 m|3 m", 1199),
    (Accessory, "cables", "Amazon Basics", "HDMI 2.0 Cable", "High-speed HDMI cable for 4K at 60 Hz", "1 m|2 m|3 m", 699),
    (Accessory, "bags", "Lenovo", "ThinkPad Essential Backpack", "Padded backpack for laptops up to 15.6\"", "15.6\"", 3900),
    (Accessory, "bags", "Dell", "Pro Briefcase 15", "Water-resistant briefcase for laptops up to 15\"", "15\"", 4500),
    (Accessory, "bags", "Targus", "CityLite Pro Sleeve", "Slim padded sleeve", "13-14\"|15.6\"", 2499),
    (Accessory, "bags", "tomtoc", "360 Protective Sleeve", "Sleeve with corner armour", "13\"|14\"|16\"", 2499),
];

type Axis = &'static [(&'static str, i64)];
/// Second parts of titles, with the price change in percent.
#[rustfmt::skip]
const CONFIGS: Axis = &[
    ("8 GB RAM, 128 GB SSD", -6), ("8 GB RAM, 256 GB SSD", 0), ("8 GB RAM, 512 GB SSD", 6),
    ("16 GB RAM, 256 GB SSD", 9), ("16 GB RAM, 512 GB SSD", 15), ("16 GB RAM, 1 TB SSD", 24),
    ("32 GB RAM, 512 GB SSD", 28), ("32 GB RAM, 1 TB SSD", 38),
];
const STORAGE: Axis = &[("64 GB", 0), ("128 GB", 8), ("256 GB", 20), ("512 GB", 40)];
#[rustfmt::skip]
const TABLET: Axis = &[
    ("Wi-Fi, Grey", 0), ("Wi-Fi, Silver", 0), ("Wi-Fi + Cellular, Grey", 15), ("Wi-Fi + Cellular, Silver", 15),
];
const STAND: Axis = &[
    ("with stand", 0),
    ("without stand", -12),
    ("with monitor arm", 10),
];
/// Options variants differ by, with the price change in percent.
const GRADES: Axis = &[("Grade A", 0), ("Grade B", -10), ("Grade C", -18)];
const OPEN_BOX: Axis = &[("Open box", 0), ("Grade A", -12), ("Grade B", -22)];
const KEYBOARD: Axis = &[("US", 0), ("UK", 0), ("German", 0), ("Nordic", 0)];
const EXTRAS: Axis = &[("Not included", 0), ("Included", 3)];
const BATTERY: Axis = &[("Original", 0), ("New", 6)];
const CABLE: Axis = &[("HDMI", 0), ("DisplayPort", 0)];

/// The second part of a title: a computer's configuration, a phone's
/// storage, a tablet's connectivity and colour, a monitor's stand.
fn title_axis(kind: Kind) -> Axis {
    match kind {
        Laptop | Desktop => CONFIGS,
        Phone => STORAGE,
        Tablet => TABLET,
        Monitor => STAND,
        Accessory => &[("", 0)],
    }
}

/// The options variants differ by, slowest-changing first.
fn variant_axes(kind: Kind) -> &'static [(&'static str, Axis)] {
    match kind {
        Laptop => &[("Condition", GRADES), ("Keyboard", KEYBOARD)],
        Desktop => &[("Condition", GRADES), ("Keyboard and mouse", EXTRAS)],
        Phone | Tablet => &[("Condition", GRADES), ("Battery", BATTERY)],
        Monitor => &[("Condition", GRADES), ("Cable", CABLE)],
        Accessory => &[("Condition", OPEN_BOX)],
    }
}

/// splitmix64 of the index and a salt: one independent draw per decision.
fn mix(i: usize, salt: u64) -> u64 {
    let mut z = (i as u64)
        .wrapping_add(salt.wrapping_mul(0xD6E8_FEB8_6659_FD93))
        .wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// True for about one index in `n`.
fn one_in(i: usize, salt: u64, n: u64) -> bool {
    mix(i, salt).is_multiple_of(n)
}

fn pick(i: usize, salt: u64, n: usize) -> usize {
    (mix(i, salt) % n as u64) as usize
}

/// `base` changed by `pct` percent, as a shop prices it (349.00 -> 348.99).
fn price(base: i64, pct: i64) -> i64 {
    let whole = (base * (100 + pct) / 100 + 50) / 100;
    (whole * 100 - 1).max(99)
}

/// Every (model, trim, title axis) combination, in table order.
fn combinations() -> Vec<(usize, usize, usize)> {
    let mut out = Vec::new();
    for (m, row) in MODELS.iter().enumerate() {
        for t in 0..row.5.split('|').count() {
            out.extend((0..title_axis(row.0).len()).map(|a| (m, t, a)));
        }
    }
    out
}

/// The demo catalog: `PRODUCT_COUNT` products priced in `currency`, each a
/// distinct model, trim and configuration, models interleaved.
pub fn products(currency: &str) -> Vec<ImportRow> {
    let combos = combinations();
    let mut used = HashSet::new();
    (0..PRODUCT_COUNT)
        .map(|i| {
            // 387 is coprime with 1,000: a permutation that interleaves models.
            let spot = (i * 387) % PRODUCT_COUNT;
            let mut row = product(i, combos[spot * combos.len() / PRODUCT_COUNT], currency);
            let base = row.handle.clone();
            for n in 2.. {
                if used.insert(row.handle.clone()) {
                    break;
                }
                row.handle = Handle::parse(&format!("{base}-{n}")).expect("valid handle");
            }
            row
        })
        .collect()
}

fn product(i: usize, (m, t, a): (usize, usize, usize), currency: &str) -> ImportRow {
    let (kind, cats, brand, model, spec, trims, base) = MODELS[m];
    let trim = trims.split('|').nth(t).expect("trim index from the table");
    let (axis, axis_pct) = title_axis(kind)[a];
    let title = match kind {
        Laptop | Desktop => format!("{brand} {model}, {trim}, {axis}"),
        Phone => format!("{brand} {model} {axis}, {trim}, Unlocked"),
        Tablet => format!("{brand} {model} {trim}, {axis}"),
        Monitor => format!("{brand} {model} {trim} Monitor, {axis}"),
        Accessory => format!("{brand} {model}, {trim}"),
    };
    let warranty = "Refurbished and tested by our technicians, with a 12-month warranty.";
    let mut description = match kind {
        Laptop | Desktop => {
            let (ram, ssd) = axis.split_once(", ").expect("RAM, SSD");
            let (on, screen) = if kind == Laptop {
                ("on", " screen")
            } else {
                ("in", "")
            };
            format!(
                "The {brand} {model} with an {trim}, {ram} and a {ssd}, {on} a {spec}{screen}. \
                 {warranty}"
            )
        }
        Phone => format!(
            "{brand} {model} in {trim} with {axis} of storage, a {spec}. Unlocked for every \
             network, with battery health of at least 85% and a 12-month warranty."
        ),
        Tablet => format!("{brand} {model} with {trim} of storage ({axis}): {spec}. {warranty}"),
        Monitor => format!(
            "{brand} {model}: a {spec} panel, sold {axis}. Tested for dead pixels and backlight \
             bleed."
        ),
        Accessory => format!("{brand} {model} ({trim}). {spec}."),
    };
    let rent = !matches!(kind, Accessory | Monitor) && one_in(i, 5, 3);
    let on_sale = one_in(i, 4, 4);
    let mut tags = vec![brand.to_lowercase().replace(' ', "-"), "refurbished".into()];
    tags.push(format!("{kind:?}").to_lowercase());
    if rent {
        description.push_str(" Also available to rent monthly, with the option to buy.");
        tags.push("rent-to-own".into());
    }
    if on_sale {
        tags.push("sale".into());
    }

    // Variants: consecutive combinations of the kind's options.
    let axes = variant_axes(kind);
    let total: usize = axes.iter().map(|(_, v)| v.len()).product();
    let first = pick(i, 3, total);
    let sold_out = one_in(i, 6, 15);
    let trim_pct = match kind {
        Phone | Monitor => 0,
        Accessory => 5 * t as i64,
        _ => 10 * t as i64,
    };
    let product_pct = (mix(i, 1) % 9) as i64 - 4 + axis_pct + trim_pct;
    let money = |amount| Money {
        amount,
        currency: currency.to_owned(),
    };
    let alnum = |s: &str, n| -> String {
        let s = s.chars().filter(char::is_ascii_alphanumeric).take(n);
        s.collect::<String>().to_ascii_uppercase()
    };
    let code = format!("{}-{}-{:04}", alnum(brand, 3), alnum(model, 12), i + 1);
    let variants = (0..(1 + pick(i, 2, 4)).min(total))
        .map(|j| {
            let mut k = (first + j) % total;
            let mut picked = Vec::new();
            for (name, values) in axes.iter().rev() {
                picked.insert(0, (*name, values[k % values.len()]));
                k /= values.len();
            }
            let pct = product_pct + picked.iter().map(|(_, (_, p))| p).sum::<i64>();
            let stock = mix(i, 100 + j as u64);
            let values: Vec<&str> = picked.iter().map(|(_, (v, _))| *v).collect();
            let variant = NewVariant {
                sku: Sku::parse(&format!("{code}{}", (b'A' + j as u8) as char)).expect("valid SKU"),
                title: values.join(" / "),
                options: (picked.iter())
                    .map(|(n, (v, _))| ((*n).to_owned(), (*v).to_owned()))
                    .collect(),
                price: money(price(base, pct)),
                compare_at_price: on_sale.then(|| money(price(base, pct + 30))),
                on_hand: if sold_out || stock.is_multiple_of(8) {
                    0
                } else {
                    ((stock >> 8) % 26) as i64
                },
            };
            ImportVariant {
                variant,
                set_stock: true,
            }
        })
        .collect();

    ImportRow {
        line: i as u64 + 1,
        handle: Handle::from_title(&title).expect("demo titles have words"),
        title,
        description,
        status: Some(if one_in(i, 7, 30) {
            ProductStatus::Draft
        } else {
            ProductStatus::Active
        }),
        tags: (tags.iter())
            .map(|t| parse_tag(t).expect("valid tag"))
            .collect(),
        categories: (cats.split(' '))
            .map(|c| Handle::parse(c).expect("valid category handle"))
            .collect(),
        variants,
    }
}

#[cfg(test)]
mod tests {
    use storekeep_domain::MAX_TITLE;

    use super::*;

    #[test]
    fn categories_are_valid_and_parents_come_first() {
        let cats = categories();
        assert!((15..=25).contains(&cats.len()));
        let mut seen = HashSet::new();
        for c in &cats {
            assert!(!c.name.is_empty());
            assert!(
                c.parent.as_ref().is_none_or(|p| seen.contains(p)),
                "{}",
                c.handle
            );
            assert!(seen.insert(c.handle.clone()), "{} twice", c.handle);
        }
    }

    #[test]
    fn a_thousand_valid_distinct_products() {
        let rows = products("USD");
        assert_eq!(rows.len(), 1_000);
        assert!(combinations().len() >= PRODUCT_COUNT, "table too small");
        let categories: HashSet<Handle> = categories().into_iter().map(|c| c.handle).collect();
        let (mut handles, mut titles, mut skus) = (HashSet::new(), HashSet::new(), HashSet::new());
        let (mut drafts, mut variants, mut sold_out, mut on_sale, mut rent) = (0, 0, 0, 0, 0);
        for (i, row) in rows.iter().enumerate() {
            assert_eq!(row.line, i as u64 + 1);
            assert_eq!(Handle::parse(row.handle.as_str()).as_ref(), Ok(&row.handle));
            assert!(handles.insert(&row.handle), "{} twice", row.handle);
            assert!(titles.insert(&row.title), "{} twice", row.title);
            assert!(!row.title.trim().is_empty() && row.title.chars().count() <= MAX_TITLE);
            let sentences = row.description.matches(". ").count() + 1;
            assert!((1..=3).contains(&sentences), "{}", row.description);
            assert!((1..=2).contains(&row.categories.len()));
            assert!(row.categories.iter().all(|c| categories.contains(c)));
            assert!(row.tags.iter().all(|t| parse_tag(t).as_ref() == Ok(t)));
            rent += usize::from(row.tags.iter().any(|t| t == "rent-to-own"));
            drafts += usize::from(row.status == Some(ProductStatus::Draft));
            assert!((1..=4).contains(&row.variants.len()));
            let mut options = HashSet::new();
            for v in row.variants.iter().map(|v| &v.variant) {
                variants += 1;
                let sku = v.sku.as_str();
                assert_eq!(Sku::parse(sku).as_ref(), Ok(&v.sku));
                assert!(
                    sku.bytes()
                        .all(|b| matches!(b, b'A'..=b'Z' | b'0'..=b'9' | b'-'))
                );
                assert!(skus.insert(v.sku.clone()), "SKU {sku} twice");
                assert!(options.insert(&v.options), "options twice: {}", row.title);
                let text: String = v.options.iter().map(|(k, v)| format!("{k}{v}")).collect();
                assert!(!text.contains(['=', '|', ',']), "{text}");
                v.price.validate("USD").unwrap();
                if let Some(c) = &v.compare_at_price {
                    c.validate("USD").unwrap();
                    assert!(c.amount > v.price.amount);
                    on_sale += 1;
                }
                assert!((0..=25).contains(&v.on_hand));
                sold_out += usize::from(v.on_hand == 0);
            }
        }
        assert!((5..=80).contains(&drafts), "{drafts} drafts");
        assert!(
            sold_out > 50 && sold_out < variants / 3,
            "{sold_out} of {variants}"
        );
        assert!(
            on_sale > 100 && rent > 100,
            "{on_sale} on sale, {rent} to rent"
        );
    }

    #[test]
    fn deterministic_in_the_given_currency_and_varied() {
        assert_eq!(products("USD"), products("USD"));
        assert_eq!(categories(), categories());
        let (usd, eur) = (products("USD"), products("EUR"));
        let mut prices = eur
            .iter()
            .flat_map(|r| &r.variants)
            .map(|v| &v.variant.price);
        assert!(prices.all(|p| p.validate("EUR").is_ok()));
        let all = "business-laptops gaming-laptops iphone android ipad monitors mini-pcs \
                   workstations docks keyboards mice chargers cables bags";
        for cat in all.split_whitespace() {
            let n = usd
                .iter()
                .filter(|r| r.categories.iter().any(|c| c.as_str() == cat));
            assert!(n.count() >= 5, "{cat}");
        }
        assert!(usd.iter().any(|r| r.title.contains("ThinkPad T480")));
    }
}
