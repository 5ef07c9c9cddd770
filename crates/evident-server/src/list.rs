//! Lists: sorted by a key of a closed set, cut into pages by cursor.
//!
//! Each list names the keys it sorts by (`SortKeys`); `sort=KEY` sorts ascending, `sort=-KEY`
//! descending, and anything else is refused with `invalid_input` naming the keys. Every item's
//! sort key ends with the list's unique key (a code, an e-mail), so no two items tie and a cursor
//! (the last item's sort key, with the sort it belongs to, hex-encoded) says exactly where the next
//! page starts, whatever was added or removed between the pages.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use evident_app::Code;
use serde::Serialize;

use crate::error::ApiError;

type Result<T, E = ApiError> = std::result::Result<T, E>;

/// The keys a list sorts by; the first is its default order.
pub(crate) type SortKeys = &'static [&'static str];

/// A list's order, as asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Sort {
    pub(crate) key: &'static str,
    pub(crate) descending: bool,
}

impl Sort {
    /// The order `sort` asks for among `keys` (the first key, ascending, when absent).
    pub(crate) fn parse(sort: Option<&str>, keys: SortKeys) -> Result<Sort> {
        let Some(text) = sort else { return Ok(Sort { key: keys[0], descending: false }) };
        let (name, descending) = match text.strip_prefix('-') {
            Some(name) => (name, true),
            None => (text, false),
        };
        match keys.iter().find(|k| **k == name) {
            Some(key) => Ok(Sort { key, descending }),
            None => Err(ApiError::new(
                Code::InvalidInput,
                format!(
                    "sort: {text:?} is not a key of this list; sort by {} (or -KEY for descending)",
                    keys.join(", ")
                ),
            )),
        }
    }

    /// How a cursor names the order it was made in.
    fn name(&self) -> String {
        if self.descending { format!("-{}", self.key) } else { self.key.to_owned() }
    }
}

/// Indexes of `items` in ascending order of `key`, each with its key.
pub(crate) fn ordered<T>(items: &[T], key: impl Fn(&T) -> String) -> Vec<(String, usize)> {
    let mut order: Vec<(String, usize)> = items.iter().enumerate().map(|(i, item)| (key(item), i)).collect();
    order.sort_unstable();
    order
}

/// The cursor after the item whose sort key is `key`.
fn cursor_of(sort: &Sort, key: &str) -> String {
    hex::encode(format!("{}\n{key}", sort.name()))
}

/// The sort key a cursor says the previous page ended at: it must be this API's, made in `sort`.
fn cursor_key(cursor: &str, sort: &Sort) -> Result<String> {
    let text = hex::decode(cursor).ok().and_then(|bytes| String::from_utf8(bytes).ok());
    let (name, key) = text
        .as_deref()
        .and_then(|t| t.split_once('\n'))
        .ok_or_else(|| ApiError::new(Code::InvalidInput, "the cursor is not one this API gave"))?;
    if name != sort.name() {
        return Err(ApiError::new(
            Code::InvalidInput,
            format!("the cursor was made for sort={name}: ask the next page in the same order"),
        ));
    }
    Ok(key.to_owned())
}

/// At most this many items a page: `limit` checked, 100 by default.
pub(crate) fn limit(limit: Option<usize>) -> Result<usize> {
    let limit = limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::new(Code::InvalidInput, format!("limit is 1 to 500, not {limit}")));
    }
    Ok(limit)
}

/// One page of a list as the API answers it: `{"items": [...], "next_cursor": string|null}`,
/// borrowing its items, so that it is written straight to the response.
#[derive(Debug, Serialize)]
pub(crate) struct Page<'a, T> {
    items: Vec<&'a T>,
    next_cursor: Option<String>,
}

/// One page of `items` in `order` (ascending, from [`ordered`]) read as `sort` asks, after
/// `cursor`. Finding where a page starts is a binary search, so a page costs its own items, not
/// the list's.
pub(crate) fn page<'a, T: Serialize>(
    items: &'a [T],
    order: &[(String, usize)],
    sort: &Sort,
    limit: Option<usize>,
    cursor: Option<&str>,
) -> Result<Page<'a, T>> {
    let limit = self::limit(limit)?;
    let after = cursor.map(|c| cursor_key(c, sort)).transpose()?;
    let window: Box<dyn Iterator<Item = &(String, usize)>> = match (&after, sort.descending) {
        (None, false) => Box::new(order.iter()),
        (None, true) => Box::new(order.iter().rev()),
        (Some(after), false) => Box::new(order[order.partition_point(|(k, _)| k <= after)..].iter()),
        (Some(after), true) => Box::new(order[..order.partition_point(|(k, _)| k < after)].iter().rev()),
    };
    let chosen: Vec<&(String, usize)> = window.take(limit + 1).collect();
    let more = chosen.len() > limit;
    let chosen = &chosen[..chosen.len().min(limit)];
    let next = if more { chosen.last().map(|(key, _)| cursor_of(sort, key)) } else { None };
    Ok(Page { items: chosen.iter().map(|(_, i)| &items[*i]).collect(), next_cursor: next })
}

/// A key that orders numbers as numbers in a sort key (up to 20 digits).
pub(crate) fn number(n: impl Into<i128>) -> String {
    let n: i128 = n.into();
    // Offset so negative numbers order before positive ones, as text.
    format!("{:040}", n + (1i128 << 100))
}

/// The orders a server keeps of the lists it shares between requests (an organisation's controls,
/// whose read model is one list per chain head): under (organisation, list, sort), the list it was
/// computed for and its order. A page of a large list then costs a binary search and its items,
/// not a sort per request. Bounded: everything is forgotten past [`KEPT`] orders.
#[derive(Debug, Default)]
pub(crate) struct Orders {
    kept: Mutex<HashMap<(String, &'static str, Sort), Kept>>,
}

type Kept = (Arc<dyn std::any::Any + Send + Sync>, Arc<Vec<(String, usize)>>);

/// How many orders a server keeps at most.
const KEPT: usize = 64;

impl Orders {
    /// The order of `list` by `sort`, computed with `key` unless kept for this very list.
    pub(crate) fn of<T: Send + Sync + 'static>(
        &self,
        slot: (&str, &'static str),
        list: &Arc<Vec<T>>,
        sort: Sort,
        key: impl Fn(&T) -> String,
    ) -> Arc<Vec<(String, usize)>> {
        let id = (slot.0.to_owned(), slot.1, sort);
        {
            let kept = self.kept.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some((held, order)) = kept.get(&id)
                && held.clone().downcast::<Vec<T>>().is_ok_and(|held| Arc::ptr_eq(&held, list))
            {
                return order.clone();
            }
        }
        let order = Arc::new(ordered(list, key));
        let mut kept = self.kept.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if kept.len() >= KEPT {
            kept.clear();
        }
        let held: Arc<dyn std::any::Any + Send + Sync> = list.clone();
        kept.insert(id, (held, order.clone()));
        order
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_in_either_direction_meet_every_item_once() {
        let items: Vec<u32> = vec![5, 3, 9, 1, 7, 2, 8];
        let order = ordered(&items, |n| number(*n));
        for descending in [false, true] {
            let sort = Sort { key: "n", descending };
            let mut seen = Vec::new();
            let mut cursor: Option<String> = None;
            loop {
                let page = page(&items, &order, &sort, Some(3), cursor.as_deref()).unwrap();
                seen.extend(page.items.iter().map(|n| **n));
                match page.next_cursor {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
            let mut expected = vec![1, 2, 3, 5, 7, 8, 9];
            if descending {
                expected.reverse();
            }
            assert_eq!(seen, expected, "descending: {descending}");
        }
    }

    #[test]
    fn an_unknown_key_or_a_cursor_of_another_order_is_refused() {
        assert!(Sort::parse(Some("colour"), &["code", "title"]).is_err());
        assert_eq!(Sort::parse(Some("-title"), &["code", "title"]).unwrap(), Sort { key: "title", descending: true });
        let items = vec![1u32, 2, 3];
        let order = ordered(&items, |n| number(*n));
        let up = Sort { key: "n", descending: false };
        let first = page(&items, &order, &up, Some(1), None).unwrap();
        let cursor = first.next_cursor.unwrap();
        let down = Sort { key: "n", descending: true };
        assert!(page(&items, &order, &down, Some(1), Some(&cursor)).is_err());
    }
}
