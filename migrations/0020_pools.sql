-- Warm pools (issue 25): pool definitions, hits and misses, and on clusters the pooled state, the name a claimed
-- cluster was planned under and the template build a pooled one was made from.
CREATE TABLE "pool_requests" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"template" text NOT NULL,
	"size" integer NOT NULL,
	"hit" boolean NOT NULL,
	"cluster_id" uuid,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "pools" (
	"template" text NOT NULL,
	"size" integer NOT NULL,
	"version" text,
	"target" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "pools_template_size_pk" PRIMARY KEY("template","size")
);
--> statement-breakpoint
ALTER TABLE "clusters" ADD COLUMN "pooled_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "clusters" ADD COLUMN "plan_name" text;--> statement-breakpoint
ALTER TABLE "clusters" ADD COLUMN "pool_recipe" text;--> statement-breakpoint
CREATE INDEX "pool_requests_at" ON "pool_requests" USING btree ("template","size","at");--> statement-breakpoint
CREATE INDEX "clusters_pooled" ON "clusters" USING btree ("template","size","pooled_at") WHERE pooled_at is not null;
