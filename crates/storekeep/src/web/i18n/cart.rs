//! The cart page's strings.

use super::Lang;

#[derive(Debug)]
pub struct CartMsgs {
    pub title: &'static str,
    pub empty: &'static str,
    pub continue_shopping: &'static str,
    pub item: &'static str,
    pub price: &'static str,
    pub quantity: &'static str,
    pub line_total: &'static str,
    pub update: &'static str,
    pub remove: &'static str,
    pub coupon: &'static str,
    pub apply: &'static str,
    pub subtotal: &'static str,
    pub discount: &'static str,
    pub shipping: &'static str,
    pub tax: &'static str,
    pub total: &'static str,
    pub checkout: &'static str,
    pub added: &'static str,
    pub rental: &'static str,
    pub problem: &'static str,
    pub not_found: &'static str,
}

pub const EN: CartMsgs = CartMsgs {
    title: "Your cart",
    empty: "Your cart is empty.",
    continue_shopping: "Continue shopping",
    item: "Item",
    price: "Price",
    quantity: "Quantity",
    line_total: "Total",
    update: "Update",
    remove: "Remove",
    coupon: "Coupon code",
    apply: "Apply",
    subtotal: "Subtotal",
    discount: "Discount",
    shipping: "Shipping",
    tax: "Tax",
    total: "Total",
    checkout: "Check out",
    added: "Added to your cart.",
    rental: "Rented: {term} payments of {amount}",
    problem: "Please check the form.",
    not_found: "This cart line no longer exists.",
};

pub const DE: CartMsgs = CartMsgs {
    title: "Ihr Warenkorb",
    empty: "Ihr Warenkorb ist leer.",
    continue_shopping: "Weiter einkaufen",
    item: "Artikel",
    price: "Preis",
    quantity: "Menge",
    line_total: "Summe",
    update: "Ändern",
    remove: "Entfernen",
    coupon: "Gutscheincode",
    apply: "Einlösen",
    subtotal: "Zwischensumme",
    discount: "Rabatt",
    shipping: "Versand",
    tax: "Steuer",
    total: "Gesamt",
    checkout: "Zur Kasse",
    added: "In den Warenkorb gelegt.",
    rental: "Miete: {term} Raten zu {amount}",
    problem: "Bitte prüfen Sie das Formular.",
    not_found: "Diese Position gibt es nicht mehr.",
};

pub fn get(lang: Lang) -> &'static CartMsgs {
    match lang {
        Lang::En => &EN,
        Lang::De => &DE,
    }
}
