-- A post whose outcome is unknown (sent, then its sender died or the call timed out): only such a row is looked up
-- in the channel's history before it is posted again (slack/outbox-sender.ts).
ALTER TABLE "outbox" ADD COLUMN "post_unknown" boolean DEFAULT false NOT NULL;
