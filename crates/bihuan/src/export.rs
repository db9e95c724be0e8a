//! Export of appeals to CSV: UTF-8 with a byte-order mark so that Excel opens Chinese text
//! correctly. Citizens' phones and names are masked: an export leaves the system.

use std::io::Write;
use std::sync::Arc;

use bihuan_domain::time::Instant;
use bihuan_server::export::{appeal_row, APPEAL_HEADERS};
use bihuan_store::{AppealFilter, Store};

/// Writes every appeal matching `filter` as CSV to `out`; returns the number of rows.
pub async fn export_csv(
    store: &Arc<dyn Store>,
    mut filter: AppealFilter,
    now: Instant,
    out: &mut dyn Write,
) -> anyhow::Result<u64> {
    filter.now = Some(now);
    let cat = store.catalog();
    out.write_all("\u{feff}".as_bytes())?;
    let mut w = csv::Writer::from_writer(out);
    w.write_record(APPEAL_HEADERS)?;
    let mut cursor = None;
    let mut n = 0;
    loop {
        let page = store.list(filter.clone(), cursor, 500).await?;
        for a in &page.items {
            // The same defusing as the API's CSV: a cell must never run as a formula.
            w.write_record(
                appeal_row(a, &cat, now)
                    .iter()
                    .map(|c| bihuan_server::export::defuse(&c.text())),
            )?;
            n += 1;
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    w.flush()?;
    Ok(n)
}
