CREATE TABLE "snapshots" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"operation_id" uuid NOT NULL,
	"cluster_id" uuid NOT NULL,
	"cluster_name" text NOT NULL,
	"template" text NOT NULL,
	"size" integer NOT NULL,
	"owner" text NOT NULL,
	"note" text,
	"state" text NOT NULL,
	"host" text NOT NULL,
	"artifact_key" text,
	"size_bytes" bigint,
	"sha256" text,
	"manifest" jsonb,
	"error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"ready_at" timestamp with time zone,
	"expires_at" timestamp with time zone NOT NULL,
	"deleted_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "clusters" ADD COLUMN "identity_id" uuid;--> statement-breakpoint
ALTER TABLE "clusters" ADD COLUMN "restored_from" jsonb;--> statement-breakpoint
ALTER TABLE "snapshots" ADD CONSTRAINT "snapshots_cluster_id_clusters_id_fk" FOREIGN KEY ("cluster_id") REFERENCES "public"."clusters"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "snapshots_operation" ON "snapshots" USING btree ("operation_id");--> statement-breakpoint
CREATE INDEX "snapshots_cluster" ON "snapshots" USING btree ("cluster_id","created_at");--> statement-breakpoint
CREATE INDEX "snapshots_live_expiry" ON "snapshots" USING btree ("expires_at") WHERE state <> 'deleted';