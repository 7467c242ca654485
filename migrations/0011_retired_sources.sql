CREATE TABLE "retired_sources" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"cluster_id" uuid NOT NULL,
	"host" text NOT NULL,
	"operation_id" uuid,
	"remove_after" timestamp with time zone NOT NULL,
	"removed_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "retired_sources" ADD CONSTRAINT "retired_sources_cluster_id_clusters_id_fk" FOREIGN KEY ("cluster_id") REFERENCES "public"."clusters"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "retired_sources_due" ON "retired_sources" USING btree ("remove_after") WHERE removed_at is null;
