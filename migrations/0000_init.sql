CREATE TABLE "clusters" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"owner" text NOT NULL,
	"team" text,
	"template" text NOT NULL,
	"size" integer NOT NULL,
	"state" text NOT NULL,
	"host" text,
	"subnet_index" integer NOT NULL,
	"channel" text,
	"card_ts" text,
	"progress_ts" text,
	"error" text,
	"request_key" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"ready_at" timestamp with time zone,
	"deleted_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"cluster_id" uuid NOT NULL,
	"actor" text NOT NULL,
	"kind" text NOT NULL,
	"detail" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "hosts" (
	"name" text PRIMARY KEY NOT NULL,
	"url" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "nodes" (
	"cluster_id" uuid NOT NULL,
	"ordinal" integer NOT NULL,
	"role" text NOT NULL,
	"role_index" integer NOT NULL,
	"hostname" text NOT NULL,
	"ip" text NOT NULL,
	"container_name" text NOT NULL,
	"container_id" text,
	"host" text NOT NULL,
	"ports" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "nodes_cluster_id_ordinal_pk" PRIMARY KEY("cluster_id","ordinal")
);
--> statement-breakpoint
ALTER TABLE "events" ADD CONSTRAINT "events_cluster_id_clusters_id_fk" FOREIGN KEY ("cluster_id") REFERENCES "public"."clusters"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "nodes" ADD CONSTRAINT "nodes_cluster_id_clusters_id_fk" FOREIGN KEY ("cluster_id") REFERENCES "public"."clusters"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "clusters_live_name" ON "clusters" USING btree ("name") WHERE state <> 'deleted';--> statement-breakpoint
CREATE UNIQUE INDEX "clusters_live_subnet" ON "clusters" USING btree ("subnet_index") WHERE state <> 'deleted';--> statement-breakpoint
CREATE UNIQUE INDEX "clusters_request_key" ON "clusters" USING btree ("request_key");--> statement-breakpoint
CREATE INDEX "clusters_owner" ON "clusters" USING btree ("owner");--> statement-breakpoint
CREATE INDEX "events_cluster" ON "events" USING btree ("cluster_id","at");