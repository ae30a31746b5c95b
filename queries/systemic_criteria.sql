-- one row per criterion failed in the period: in how many units, out of how many units with any finding, ranked by units
with opened as (
    from nonconformity_in_scope(
        $as_of, $window_days, $unit, $sources::varchar[], $severities::varchar[], $categories::varchar[], $scope
    )
    where found_on between $since and $until
        and criterion is not null
)

select
    n.criterion,
    any_value(c.title) as title,
    any_value(coalesce(c.title_en, c.title)) as title_en,
    any_value(c.category) as category,
    count(distinct n.unit) as units,
    (select count(distinct unit) from opened) as units_with_findings,
    count(distinct n.unit) / (select count(distinct unit) from opened) as unit_share,
    count(*) as findings,
    count(*) filter (where n.is_repeat) as repeats,
from opened as n
join criteria as c on c.code = n.criterion
group by n.criterion
order by units desc, findings desc, n.criterion
