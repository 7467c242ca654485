-- Who besides a cluster's owner and the admins may open its web UIs and see its snapshots (`/cluster share`), and
-- who may see and restore one snapshot (`/cluster snapshot share`). A row is a grant; unsharing deletes it, and
-- the history keeps both as events.
CREATE TABLE "cluster_shares" (
	"cluster_id" uuid NOT NULL,
	"user_id" text NOT NULL,
	"granted_by" text NOT NULL,
	"granted_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "cluster_shares_cluster_id_user_id_pk" PRIMARY KEY("cluster_id","user_id")
);
--> statement-breakpoint
CREATE TABLE "snapshot_shares" (
	"snapshot_id" uuid NOT NULL,
	"user_id" text NOT NULL,
	"granted_by" text NOT NULL,
	"granted_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "snapshot_shares_snapshot_id_user_id_pk" PRIMARY KEY("snapshot_id","user_id")
);
--> statement-breakpoint
ALTER TABLE "cluster_shares" ADD CONSTRAINT "cluster_shares_cluster_id_clusters_id_fk" FOREIGN KEY ("cluster_id") REFERENCES "public"."clusters"("id") ON DELETE cascade ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "snapshot_shares" ADD CONSTRAINT "snapshot_shares_snapshot_id_snapshots_id_fk" FOREIGN KEY ("snapshot_id") REFERENCES "public"."snapshots"("id") ON DELETE cascade ON UPDATE no action;
--> statement-breakpoint
CREATE INDEX "cluster_shares_user" ON "cluster_shares" USING btree ("user_id");
--> statement-breakpoint
CREATE INDEX "snapshot_shares_user" ON "snapshot_shares" USING btree ("user_id");
