-- Every Slack request handled, by its identity (a slash command's trigger_id, a press's action_ts...): a request
-- delivered again (a proxy's retry, a replay inside the signature's 5 minutes) finds its key and does nothing
-- (slack/request-ledger.ts). Rows are pruned once no replay could pass the signature check any more.
CREATE TABLE "slack_requests" (
	"key" text PRIMARY KEY NOT NULL,
	"seen_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "slack_requests_seen" ON "slack_requests" USING btree ("seen_at");--> statement-breakpoint
-- `/cluster transfer NAME @USER` offers the cluster; it moves (and counts against the receiver's quota) only when
-- they accept. At most one offer of a cluster is pending; a new one withdraws it.
CREATE TABLE "transfer_offers" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"cluster_id" uuid NOT NULL,
	"from_owner" text NOT NULL,
	"to_user" text NOT NULL,
	"offered_by" text NOT NULL,
	"state" text DEFAULT 'pending' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"decided_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "transfer_offers" ADD CONSTRAINT "transfer_offers_cluster_id_clusters_id_fk" FOREIGN KEY ("cluster_id") REFERENCES "public"."clusters"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "transfer_offers_one_pending" ON "transfer_offers" USING btree ("cluster_id") WHERE state = 'pending';--> statement-breakpoint
CREATE INDEX "transfer_offers_pending_expiry" ON "transfer_offers" USING btree ("expires_at") WHERE state = 'pending';
