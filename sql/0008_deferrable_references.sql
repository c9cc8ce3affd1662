-- `db import` loads every table in one transaction with its constraints deferred: an old key
-- names the key that replaced it (replaced_by) before that row is loaded. Deferrable changes
-- nothing otherwise: the checks stay immediate unless a transaction asks to defer them.
alter table api_keys alter constraint api_keys_rotated_from_fkey deferrable initially immediate;
alter table api_keys alter constraint api_keys_replaced_by_fkey deferrable initially immediate;
alter table api_key_anomalies alter constraint api_key_anomalies_key_id_fkey deferrable initially immediate;
alter table webhook_deliveries alter constraint webhook_deliveries_webhook_id_fkey deferrable initially immediate;
