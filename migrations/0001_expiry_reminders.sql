ALTER TABLE "clusters" ADD COLUMN "reminded_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "clusters_live_expiry" ON "clusters" USING btree ("expires_at") WHERE state <> 'deleted';