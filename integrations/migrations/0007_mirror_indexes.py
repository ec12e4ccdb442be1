# The mirror's indexes are written with every synced row: the foreign key's own index goes (the
# unique (connection, remote_id) serves lookups by connection), and the candidate e-mail's two
# (btree and LIKE), which no case-insensitive lookup used, become one on UPPER(email), which they use.

import django.db.models.deletion
import django.db.models.functions.text
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('integrations', '0006_merge_h2_hardening'),
    ]

    operations = [
        migrations.AlterField(
            model_name='remoteapplication',
            name='connection',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='integrations.connection'),
        ),
        migrations.AlterField(
            model_name='remotecandidate',
            name='connection',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='integrations.connection'),
        ),
        migrations.AlterField(
            model_name='remotecandidate',
            name='email',
            field=models.EmailField(blank=True, max_length=254),
        ),
        migrations.AlterField(
            model_name='remotejob',
            name='connection',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='integrations.connection'),
        ),
        migrations.AlterField(
            model_name='remotestage',
            name='connection',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='integrations.connection'),
        ),
        migrations.AddIndex(
            model_name='remotecandidate',
            index=models.Index(django.db.models.functions.text.Upper('email'), name='remote_candidate_email_ci'),
        ),
    ]
