CREATE TABLE "reminders" (
	"cluster_id" uuid NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"offset_minutes" integer NOT NULL,
	"sent_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "reminders_cluster_id_expires_at_offset_minutes_pk" PRIMARY KEY("cluster_id","expires_at","offset_minutes")
);
--> statement-breakpoint
ALTER TABLE "reminders" ADD CONSTRAINT "reminders_cluster_id_clusters_id_fk" FOREIGN KEY ("cluster_id") REFERENCES "public"."clusters"("id") ON DELETE cascade ON UPDATE no action;