//! Seats over time (docs/licensing.md "Seats over time"): after each licensing run that wrote
//! anything, the tenant's subscribed SKUs are read again (the Licenses step's sync, which also
//! refreshes the licenses table) and one point per SKU is appended to the profile's seat history.

use jiff::{SignedDuration, Timestamp};
use okta365_store::{ProfileRecord, lifecycle::SeatPointRecord};
use tracing::instrument;
use uuid::Uuid;

use crate::{
    dto::SeatPoint,
    engine::Engine,
    error::{Error, Result},
};

/// The longest history asked for: 10 years.
const MAX_DAYS: u32 = 3_650;

impl Engine {
    /// The profile's seat points, oldest first: those of the last `days` days, or every one.
    #[instrument(skip(self), err)]
    pub async fn seat_history(
        &self,
        profile_id: &str,
        days: Option<u32>,
    ) -> Result<Vec<SeatPoint>> {
        let profile = self.find(profile_id).await?;
        let since = match days {
            None => None,
            Some(0) => {
                return Err(Error::invalid(
                    "The seat history needs at least 1 day; leave the number of days out for the whole \
                     history.",
                ));
            }
            Some(d) if d > MAX_DAYS => {
                return Err(Error::invalid(format!(
                    "The seat history covers at most {MAX_DAYS} days (10 years); {d} days is too many. \
                     Leave the number of days out for the whole history."
                )));
            }
            Some(d) => {
                let now = self
                    .tenant_now(&profile)
                    .await
                    .unwrap_or_else(|_| Timestamp::now());
                Some(
                    now.checked_sub(SignedDuration::from_hours(i64::from(d) * 24))
                        .unwrap_or(Timestamp::MIN),
                )
            }
        };
        let id = profile.id;
        let points = self.db(move |store| store.seat_history(id, since)).await?;
        let view = self.licenses_view(id).await?;
        Ok(points
            .into_iter()
            .map(|p| {
                let name = crate::setup::licenses::find_license(&view.licenses, &p.sku_id)
                    .and_then(|l| l.product_name.clone())
                    .or_else(|| okta365_graph::product_name(&p.sku_part_number).map(str::to_owned))
                    .unwrap_or_else(|| p.sku_part_number.clone());
                SeatPoint {
                    sku_id: p.sku_id,
                    sku_part_number: p.sku_part_number,
                    name,
                    taken_at: p.taken_at.to_string(),
                    consumed: u32::try_from(p.consumed.max(0)).unwrap_or(u32::MAX),
                    enabled: u32::try_from(p.enabled.max(0)).unwrap_or(u32::MAX),
                }
            })
            .collect())
    }

    /// Reads the tenant's subscribed SKUs again (through the Licenses step's sync) and appends one seat
    /// point per SKU, taken now on the tenant clock, for the run that changed them.
    pub(crate) async fn record_seats(
        &self,
        profile: &ProfileRecord,
        run_id: Option<Uuid>,
    ) -> Result<()> {
        let view = self.sync_licenses(&profile.id.to_string(), &()).await?;
        let taken_at = self
            .tenant_now(profile)
            .await
            .unwrap_or_else(|_| Timestamp::now());
        let points: Vec<SeatPointRecord> = view
            .licenses
            .iter()
            .map(|l| SeatPointRecord {
                profile_id: profile.id,
                sku_id: l.sku_id.clone(),
                sku_part_number: l.sku_part_number.clone(),
                consumed: i64::from(l.consumed),
                enabled: i64::from(l.enabled),
                taken_at,
                run_id,
            })
            .collect();
        let count = points.len();
        self.db(move |store| store.insert_seat_points(&points))
            .await?;
        tracing::info!(profile_id = %profile.id, skus = count, "recorded the seats");
        Ok(())
    }
}
