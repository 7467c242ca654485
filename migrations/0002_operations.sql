CREATE TABLE "operations" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"cluster_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"actor" text NOT NULL,
	"state" text NOT NULL,
	"params" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"progress" jsonb,
	"error" text,
	"attempts" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "operations" ADD CONSTRAINT "operations_cluster_id_clusters_id_fk" FOREIGN KEY ("cluster_id") REFERENCES "public"."clusters"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "operations_one_active" ON "operations" USING btree ("cluster_id") WHERE state in ('queued', 'running');--> statement-breakpoint
CREATE INDEX "operations_cluster" ON "operations" USING btree ("cluster_id","created_at");--> statement-breakpoint
-- Clusters that were mid-create or mid-delete when this migration ran get the operation the worker resumes.
INSERT INTO "operations" ("cluster_id", "kind", "actor", "state")
SELECT "id", CASE WHEN "state" = 'deleting' THEN 'delete' ELSE 'create' END, "owner", 'queued'
FROM "clusters" WHERE "state" IN ('requested', 'provisioning', 'deleting');
