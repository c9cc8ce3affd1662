-- Whose n8n API key a row is: n8n lists (and deletes) only the logged-in user's keys, so
-- without the owner another user's key looks deleted. Rows made before this are unknown (null).
alter table n8n_api_keys add column n8n_user_id text, add column n8n_user text;
